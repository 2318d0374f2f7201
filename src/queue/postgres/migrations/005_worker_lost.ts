/**
 * PostgreSQL migration 5: a worker whose process was found gone is told apart from one
 * that stopped (as SQLite's 012_worker_lost, which says why): `lost` keeps it dead until
 * retention deletes its row; stopped_at still ends its claims and heartbeats. IF NOT
 * EXISTS, as 004 is written, so a database made to look older (blobLedger's upgrade case)
 * runs it again harmlessly.
 */
export default /* sql */ `
ALTER TABLE workers ADD COLUMN IF NOT EXISTS lost boolean NOT NULL DEFAULT false;
`;
