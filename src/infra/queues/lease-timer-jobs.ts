// Job ids of delayed `leases.sweep` jobs: the leases module schedules them at lease ends, matching at
// provisioning deadlines, so they sit beside the job catalogue rather than in either module.
/** Delayed lease sweeps at provisioning deadlines: `dueJobId(LEASE_DEADLINE_JOB_PREFIX, at)`. */
export const LEASE_DEADLINE_JOB_PREFIX = 'provisioningDeadline';
/** Delayed lease sweeps at lease ends: `dueJobId(LEASE_END_JOB_PREFIX, at)`. */
export const LEASE_END_JOB_PREFIX = 'endsAt';
