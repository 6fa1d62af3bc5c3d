// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Chama: a rotating savings group in the native currency.
/// @notice Members pay a fixed contribution every round; when everyone has paid, the whole pot
/// goes to one member, in join order. This is the reference contract of SPEC §1: the events
/// below are the indexer's interface and must keep these exact signatures.
contract Chama {
    event ChamaCreated(
        uint256 indexed chamaId, address indexed creator, string name, uint256 contributionAmount, uint256 maxMembers
    );
    event MemberJoined(uint256 indexed chamaId, address indexed member);
    event ContributionMade(
        uint256 indexed chamaId, address indexed contributor, uint256 amount, uint256 round, uint256 timestamp
    );
    event PayoutProcessed(
        uint256 indexed chamaId, address indexed recipient, uint256 amount, uint256 round, uint256 timestamp
    );

    error ZeroContribution();
    error TooFewMembers(uint256 maxMembers);
    error UnknownChama(uint256 chamaId);
    error ChamaFull(uint256 chamaId);
    error AlreadyMember(uint256 chamaId, address member);
    error ContributionsStarted(uint256 chamaId);
    error NotMember(uint256 chamaId, address account);
    error WrongAmount(uint256 expected, uint256 sent);
    error AlreadyContributed(uint256 chamaId, address member, uint256 round);
    error TransferFailed(address recipient, uint256 amount);
    error Reentrancy();

    struct Member {
        uint256 position; // 1-based join order; 0 means not a member
        uint256 contributed;
        uint256 received;
        uint256 lastPaidRound; // last round this member contributed to; 0 = none
    }

    /// Invariants: `members.length == memberCount <= maxMembers`; `paidThisRound` counts the
    /// members whose `lastPaidRound == currentRound`, and is reset when the round advances;
    /// `started` becomes true with the first contribution and closes the chama to joins.
    struct Group {
        address creator;
        string name;
        uint256 contributionAmount;
        uint256 maxMembers;
        uint256 currentRound;
        uint256 paidThisRound;
        uint256 totalContributed;
        uint256 totalPaidOut;
        bool started;
        address[] members;
    }

    uint256 private _count;
    mapping(uint256 => Group) private _groups;
    mapping(uint256 => mapping(address => Member)) private _members;
    bool private _locked;

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    modifier exists(uint256 chamaId) {
        if (chamaId == 0 || chamaId > _count) revert UnknownChama(chamaId);
        _;
    }

    function createChama(string calldata name, uint256 contributionAmount, uint256 maxMembers)
        external
        returns (uint256 chamaId)
    {
        if (contributionAmount == 0) revert ZeroContribution();
        if (maxMembers < 2) revert TooFewMembers(maxMembers);
        chamaId = ++_count;
        Group storage g = _groups[chamaId];
        g.creator = msg.sender;
        g.name = name;
        g.contributionAmount = contributionAmount;
        g.maxMembers = maxMembers;
        g.currentRound = 1;
        emit ChamaCreated(chamaId, msg.sender, name, contributionAmount, maxMembers);
        _addMember(chamaId, g, msg.sender);
    }

    function join(uint256 chamaId) external exists(chamaId) {
        Group storage g = _groups[chamaId];
        if (g.started) revert ContributionsStarted(chamaId);
        if (g.members.length >= g.maxMembers) revert ChamaFull(chamaId);
        if (_members[chamaId][msg.sender].position != 0) revert AlreadyMember(chamaId, msg.sender);
        _addMember(chamaId, g, msg.sender);
    }

    function contribute(uint256 chamaId) external payable nonReentrant exists(chamaId) {
        Group storage g = _groups[chamaId];
        Member storage m = _members[chamaId][msg.sender];
        uint256 round = g.currentRound;
        if (m.position == 0) revert NotMember(chamaId, msg.sender);
        if (msg.value != g.contributionAmount) revert WrongAmount(g.contributionAmount, msg.value);
        if (m.lastPaidRound == round) revert AlreadyContributed(chamaId, msg.sender, round);

        m.lastPaidRound = round;
        m.contributed += msg.value;
        g.totalContributed += msg.value;
        g.started = true;
        g.paidThisRound += 1;
        emit ContributionMade(chamaId, msg.sender, msg.value, round, block.timestamp);

        uint256 memberCount = g.members.length;
        if (g.paidThisRound < memberCount) return;

        // Every member has paid: settle the round before the external call.
        uint256 pot = g.contributionAmount * memberCount;
        address recipient = g.members[(round - 1) % memberCount];
        g.paidThisRound = 0;
        g.currentRound = round + 1;
        g.totalPaidOut += pot;
        _members[chamaId][recipient].received += pot;
        emit PayoutProcessed(chamaId, recipient, pot, round, block.timestamp);

        (bool ok,) = payable(recipient).call{value: pot}("");
        if (!ok) revert TransferFailed(recipient, pot);
    }

    function getChama(uint256 chamaId)
        external
        view
        exists(chamaId)
        returns (
            address creator,
            string memory name,
            uint256 contributionAmount,
            uint256 maxMembers,
            uint256 memberCount,
            uint256 currentRound,
            uint256 totalContributed,
            uint256 totalPaidOut
        )
    {
        Group storage g = _groups[chamaId];
        return (
            g.creator,
            g.name,
            g.contributionAmount,
            g.maxMembers,
            g.members.length,
            g.currentRound,
            g.totalContributed,
            g.totalPaidOut
        );
    }

    function memberStats(uint256 chamaId, address member)
        external
        view
        returns (bool isMember, uint256 position, uint256 contributed, uint256 received)
    {
        Member storage m = _members[chamaId][member];
        return (m.position != 0, m.position, m.contributed, m.received);
    }

    function chamaCount() external view returns (uint256) {
        return _count;
    }

    /// Members in join order (index i holds position i + 1).
    function membersOf(uint256 chamaId) external view exists(chamaId) returns (address[] memory) {
        return _groups[chamaId].members;
    }

    function _addMember(uint256 chamaId, Group storage g, address account) private {
        g.members.push(account);
        _members[chamaId][account].position = g.members.length;
        emit MemberJoined(chamaId, account);
    }
}
