// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Aggregator: the `aggregate3` entry point of Multicall3, ABI-compatible.
/// @notice Public chains have Multicall3 at a fixed address; a local node does not, so we deploy this copy
/// and read thousands of supplies or balances in one `eth_call` at a pinned block.
contract Aggregator {
    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    /// @notice Raised when a call with `allowFailure == false` fails; `index` says which one.
    error CallFailed(uint256 index);

    function aggregate3(Call3[] calldata calls) external returns (Result[] memory returnData) {
        uint256 length = calls.length;
        returnData = new Result[](length);
        for (uint256 i = 0; i < length; ++i) {
            Call3 calldata call = calls[i];
            (bool success, bytes memory data) = call.target.call(call.callData);
            if (!success && !call.allowFailure) revert CallFailed(i);
            returnData[i] = Result(success, data);
        }
    }
}
