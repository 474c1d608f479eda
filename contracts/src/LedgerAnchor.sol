// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title LedgerAnchor: publishes the head hash of the off-chain event ledger.
/// @notice Once a head hash is anchored in a block, nobody (the issuer included) can rewrite ledger history
/// up to that position without the mismatch being visible to anyone who replays the export.
contract LedgerAnchor {
    address public owner;
    bytes32 public latestHeadHash;
    uint256 public latestPosition;
    uint256 public latestTimestamp;

    event Anchored(bytes32 headHash, uint256 position, uint256 timestamp);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner(address caller);
    error ZeroAddress();
    /// @notice The ledger only grows, so each anchor must be at a later position than the last one.
    error PositionNotAdvancing(uint256 latestPosition, uint256 position);

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

    function anchor(bytes32 headHash, uint256 position) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        if (position <= latestPosition) revert PositionNotAdvancing(latestPosition, position);
        latestHeadHash = headHash;
        latestPosition = position;
        latestTimestamp = block.timestamp;
        emit Anchored(headHash, position, block.timestamp);
    }
}
