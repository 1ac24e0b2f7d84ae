/** The coordinator's view of `__consumer_offsets` (the shared CoordinatorLog). */
export type { CoordinatorLog as GroupLog } from '../common/coordinator-log.ts';
