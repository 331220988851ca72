/** Delayed lease sweeps at provisioning deadlines: `dueJobId(LEASE_DEADLINE_JOB_PREFIX, at)`. */
export const LEASE_DEADLINE_JOB_PREFIX = 'provisioningDeadline';
/** Delayed lease sweeps at lease ends: `dueJobId(LEASE_END_JOB_PREFIX, at)`. */
export const LEASE_END_JOB_PREFIX = 'endsAt';
