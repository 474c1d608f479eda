// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

interface IERC20TransferFrom {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @title Disperser: pays a dividend airdrop batch exactly once.
/// @notice The payer approves this contract for the batch total; `disperse` moves each amount from the payer
/// to each holder and records `batchId`, so a retried batch reverts instead of paying holders twice.
/// Only the owner may disperse: batch ids are global, and an open contract would let anyone burn an id
/// the issuer planned to use.
contract Disperser {
    address public owner;
    mapping(bytes32 batchId => bool) public batchDone;

    event BatchDispersed(bytes32 indexed batchId, address indexed token, uint256 recipients, uint256 total);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner(address caller);
    error ZeroAddress();
    error BatchAlreadyDone(bytes32 batchId);
    error LengthMismatch(uint256 recipients, uint256 amounts);
    error TransferFailed(address to, uint256 amount);
    error NotAContract(address token);

    constructor(address owner_) {
        if (owner_ == address(0)) revert ZeroAddress();
        owner = owner_;
        emit OwnershipTransferred(address(0), owner_);
    }

    function transferOwnership(address newOwner) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function disperse(address token, bytes32 batchId, address[] calldata to, uint256[] calldata amounts) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        if (batchDone[batchId]) revert BatchAlreadyDone(batchId);
        if (to.length != amounts.length) revert LengthMismatch(to.length, amounts.length);
        // A call to an address without code "succeeds" and would record the batch as paid.
        if (token.code.length == 0) revert NotAContract(token);
        batchDone[batchId] = true;
        uint256 total = 0;
        for (uint256 i = 0; i < to.length; ++i) {
            _transferFrom(token, msg.sender, to[i], amounts[i]);
            total += amounts[i];
        }
        emit BatchDispersed(batchId, token, to.length, total);
    }

    /// @dev Accepts tokens that return nothing (USDT-style) as well as those returning true.
    function _transferFrom(address token, address from, address to, uint256 amount) private {
        (bool success, bytes memory data) =
            token.call(abi.encodeCall(IERC20TransferFrom.transferFrom, (from, to, amount)));
        if (!success || (data.length != 0 && !abi.decode(data, (bool)))) {
            revert TransferFailed(to, amount);
        }
    }
}
