/**
 * The key of a row as its owner names it: two organisations asking for the same id in one batch
 * must never be answered from each other's row.
 */
export const ownedKey = (organisationId: string, id: string): string => `${organisationId}/${id}`;
