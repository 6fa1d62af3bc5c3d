// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title ChamaBench: emits the SPEC §1 Chama events in bulk, for the benchmark chain only.
/// @notice Stateless: the generator (bench/chain.ts) plans a valid history (a chama is created
/// before anyone joins, joins end before the first contribution, every member pays once per
/// round, a payout to the member at ((round - 1) mod memberCount) + 1 closes each round) and
/// this contract emits it, many events per transaction. Member addresses come from a shared
/// pool, so accounts belong to many chamas.
contract ChamaBench {
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

    uint256 public constant POOL = 5000;

    /// Member `position` (1-based) of chama `chamaId`: distinct within a chama of up to POOL members.
    function memberOf(uint256 chamaId, uint256 position) public pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode((chamaId * 7919 + position) % POOL)))));
    }

    function amountOf(uint256 chamaId) public pure returns (uint256) {
        return ((chamaId % 10) + 1) * 1e16;
    }

    /// Each op is one word: kind (8 bits) | chamaId (64) | members (16) | round (32) | from (16) | to (16).
    /// kind 0: joins of positions from..to (from == 1 emits ChamaCreated first, by member 1).
    /// kind 1: contributions of positions from..to in `round` (to == members closes the round).
    function run(uint256[] calldata ops) external {
        for (uint256 i = 0; i < ops.length; i++) {
            uint256 op = ops[i];
            uint256 kind = op >> 248;
            uint256 chamaId = (op >> 184) & 0xffffffffffffffff;
            uint256 members = (op >> 168) & 0xffff;
            uint256 round = (op >> 136) & 0xffffffff;
            uint256 from = (op >> 120) & 0xffff;
            uint256 to = (op >> 104) & 0xffff;
            if (kind == 0) {
                if (from == 1) emit ChamaCreated(chamaId, memberOf(chamaId, 1), "bench chama", amountOf(chamaId), members);
                for (uint256 p = from; p <= to; p++) emit MemberJoined(chamaId, memberOf(chamaId, p));
            } else {
                uint256 amount = amountOf(chamaId);
                for (uint256 p = from; p <= to; p++) {
                    emit ContributionMade(chamaId, memberOf(chamaId, p), amount, round, block.timestamp);
                }
                if (to == members) {
                    emit PayoutProcessed(chamaId, memberOf(chamaId, ((round - 1) % members) + 1), amount * members, round, block.timestamp);
                }
            }
        }
    }
}
