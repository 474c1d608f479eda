// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ShareToken: one token per share held in custody.
/// @notice A plain ERC-20 with four roles. Supply changes only through `mint` and `burnFromRedemption`,
/// each tied to an off-chain request id that can be used once ever, so a retried or replayed request can
/// never create or destroy tokens twice, whatever the back office does.
contract ShareToken {
    bytes32 public constant ADMIN_ROLE = keccak256("ADMIN_ROLE");
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    bytes32 public constant BURNER_ROLE = keccak256("BURNER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    string public name;
    string public symbol;
    uint8 public immutable decimals;
    uint256 public totalSupply;
    bool public paused;
    address public redemptionWallet;

    mapping(address holder => uint256) public balanceOf;
    mapping(address holder => mapping(address spender => uint256)) public allowance;
    mapping(bytes32 role => mapping(address account => bool)) public hasRole;
    /// @notice Amount minted for a request id; zero means the request id is still unused.
    mapping(bytes32 requestId => uint256) public mintedFor;
    /// @notice Amount burned for a request id; zero means the request id is still unused.
    mapping(bytes32 requestId => uint256) public burnedFor;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender);
    event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender);
    event Minted(bytes32 indexed requestId, address indexed to, uint256 amount);
    event BurnedFromRedemption(bytes32 indexed requestId, address indexed redemptionWallet, uint256 amount);
    event RedemptionWalletSet(address indexed previousWallet, address indexed newWallet);
    event Paused(address account);
    event Unpaused(address account);

    error MissingRole(bytes32 role, address account);
    error TokenPaused();
    error RequestAlreadyMinted(bytes32 requestId);
    error RequestAlreadyBurned(bytes32 requestId);
    error ZeroAmount();
    error ZeroAddress();
    error RedemptionWalletNotSet();
    error InsufficientBalance(address holder, uint256 balance, uint256 needed);
    error InsufficientAllowance(address spender, uint256 allowance, uint256 needed);

    modifier onlyRole(bytes32 role) {
        if (!hasRole[role][msg.sender]) revert MissingRole(role, msg.sender);
        _;
    }

    modifier whenNotPaused() {
        if (paused) revert TokenPaused();
        _;
    }

    constructor(string memory name_, string memory symbol_, uint8 decimals_, address admin) {
        if (admin == address(0)) revert ZeroAddress();
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        _grantRole(ADMIN_ROLE, admin);
    }

    function grantRole(bytes32 role, address account) external onlyRole(ADMIN_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        _grantRole(role, account);
    }

    function revokeRole(bytes32 role, address account) external onlyRole(ADMIN_ROLE) {
        if (hasRole[role][account]) {
            hasRole[role][account] = false;
            emit RoleRevoked(role, account, msg.sender);
        }
    }

    function setRedemptionWallet(address wallet) external onlyRole(ADMIN_ROLE) {
        if (wallet == address(0)) revert ZeroAddress();
        emit RedemptionWalletSet(redemptionWallet, wallet);
        redemptionWallet = wallet;
    }

    function pause() external onlyRole(PAUSER_ROLE) {
        paused = true;
        emit Paused(msg.sender);
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        paused = false;
        emit Unpaused(msg.sender);
    }

    /// @notice Mint `amount` to `to` for the off-chain request `requestId`; a request id mints at most once.
    function mint(address to, uint256 amount, bytes32 requestId) external onlyRole(MINTER_ROLE) whenNotPaused {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (mintedFor[requestId] != 0) revert RequestAlreadyMinted(requestId);
        mintedFor[requestId] = amount;
        totalSupply += amount;
        unchecked {
            balanceOf[to] += amount; // cannot overflow: bounded by totalSupply
        }
        emit Transfer(address(0), to, amount);
        emit Minted(requestId, to, amount);
    }

    /// @notice Burn `amount` held by the redemption wallet for the redemption `requestId`; once per request id.
    /// Blocked while paused, like every other balance change, so a paused token's supply is frozen.
    function burnFromRedemption(uint256 amount, bytes32 requestId) external onlyRole(BURNER_ROLE) whenNotPaused {
        address wallet = redemptionWallet;
        if (wallet == address(0)) revert RedemptionWalletNotSet();
        if (amount == 0) revert ZeroAmount();
        if (burnedFor[requestId] != 0) revert RequestAlreadyBurned(requestId);
        uint256 balance = balanceOf[wallet];
        if (balance < amount) revert InsufficientBalance(wallet, balance, amount);
        burnedFor[requestId] = amount;
        unchecked {
            balanceOf[wallet] = balance - amount;
            totalSupply -= amount;
        }
        emit Transfer(wallet, address(0), amount);
        emit BurnedFromRedemption(requestId, wallet, amount);
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _transfer(msg.sender, to, amount);
        return true;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        if (spender == address(0)) revert ZeroAddress();
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientAllowance(msg.sender, allowed, amount);
            unchecked {
                allowance[from][msg.sender] = allowed - amount;
            }
        }
        _transfer(from, to, amount);
        return true;
    }

    function _transfer(address from, address to, uint256 amount) private whenNotPaused {
        if (to == address(0)) revert ZeroAddress();
        uint256 balance = balanceOf[from];
        if (balance < amount) revert InsufficientBalance(from, balance, amount);
        unchecked {
            balanceOf[from] = balance - amount;
            balanceOf[to] += amount; // cannot overflow: bounded by totalSupply
        }
        emit Transfer(from, to, amount);
    }

    function _grantRole(bytes32 role, address account) private {
        if (!hasRole[role][account]) {
            hasRole[role][account] = true;
            emit RoleGranted(role, account, msg.sender);
        }
    }
}
