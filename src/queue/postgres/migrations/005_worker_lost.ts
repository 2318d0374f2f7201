/**
 * PostgreSQL migration 5: a worker whose process was found gone is told apart from one
 * that stopped (as SQLite's 012_worker_lost, which says why): `lost` keeps it dead until
 * retention deletes its row; stopped_at still ends its claims and heartbeats.
 */
export default /* sql */ `
ALTER TABLE workers ADD COLUMN lost boolean NOT NULL DEFAULT false;
`;
