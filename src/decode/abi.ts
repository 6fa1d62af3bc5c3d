import { parseAbi, toEventSelector } from 'viem';

/**
 * The four events of SPEC §1, from their exact signatures. The indexer decodes these for any
 * contract that emits them; it does not depend on the reference contract's artifact.
 */
export const chamaEventsAbi = parseAbi([
  'event ChamaCreated(uint256 indexed chamaId, address indexed creator, string name, uint256 contributionAmount, uint256 maxMembers)',
  'event MemberJoined(uint256 indexed chamaId, address indexed member)',
  'event ContributionMade(uint256 indexed chamaId, address indexed contributor, uint256 amount, uint256 round, uint256 timestamp)',
  'event PayoutProcessed(uint256 indexed chamaId, address indexed recipient, uint256 amount, uint256 round, uint256 timestamp)',
]);

export type ChamaEventName = (typeof chamaEventsAbi)[number]['name'];

export const chamaEventNames = chamaEventsAbi.map((e) => e.name) as ChamaEventName[];

/** topic0 of each event, for the eth_getLogs filter and the decoder's lookup. */
export const chamaTopics = chamaEventsAbi.map((e) => toEventSelector(e));
