/** Model slugs: lower-case letters, digits, `.` and `-`, e.g. `llama-3.3-70b-instruct`. */
export const MODEL_SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?$/;
