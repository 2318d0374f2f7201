import { checkCompatibility } from '../../contract/compatibility.js';
import type { ContractDescriptor } from '../../contract/contract.js';
import { RunboxError } from '../../errors/index.js';
import { sql, type Db } from './db.js';

export interface ContractStamp {
  name: string;
  version: string;
  fingerprint: string;
}

export function readMeta(db: Db, key: string): string | null {
  const row = sql(db, 'SELECT value FROM meta WHERE key = :key').get({ key }) as
    { value: string } | undefined;
  return row ? row.value : null;
}

export function writeMeta(db: Db, key: string, value: string): void {
  sql(
    db,
    'INSERT INTO meta (key, value) VALUES (:key, :value) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  ).run({ key, value });
}

export function readContractStamp(db: Db): ContractStamp | null {
  const name = readMeta(db, 'contract_name');
  const version = readMeta(db, 'contract_version');
  const fingerprint = readMeta(db, 'contract_fingerprint');
  if (name === null || version === null || fingerprint === null) return null;
  return { name, version, fingerprint };
}

function writeContractStamp(db: Db, contract: ContractStamp): void {
  writeMeta(db, 'contract_name', contract.name);
  writeMeta(db, 'contract_version', contract.version);
  writeMeta(db, 'contract_fingerprint', contract.fingerprint);
}

function semver(version: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

function olderThan(a: string, b: string): boolean {
  const [x, y] = [semver(a), semver(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! < y[i]!;
  return false;
}

/** Whether checkAndStampContract would raise the stamp to this compatible, newer contract. */
export function stampWouldRise(db: Db, contract: ContractDescriptor): boolean {
  const stamp = readContractStamp(db);
  return (
    stamp !== null &&
    checkCompatibility(stamp, contract).compatible &&
    olderThan(stamp.version, contract.version)
  );
}

/**
 * The database's side of the contract handshake (issue 5, "where it is checked" 1).
 * The database holds results written under the contract it is stamped with; this build
 * reads them. Rule (checkCompatibility, with the stamp as writer and no schema):
 * same name, same major, the same version must have the same fingerprint, and a newer
 * minor in the database is refused (it may hold results this build cannot read).
 * A fresh database is stamped; an older compatible stamp is raised to ours, since from
 * now on this build writes results into it. Must run inside the open transaction.
 */
export function checkAndStampContract(db: Db, contract: ContractDescriptor, path: string): void {
  const stamp = readContractStamp(db);
  if (!stamp) {
    writeContractStamp(db, contract);
    return;
  }
  const report = checkCompatibility(stamp, contract);
  if (!report.compatible) {
    throw new RunboxError(
      'ContractMismatch',
      `database ${path} was written with result contract ${stamp.name} ${stamp.version} ` +
        `(sha256:${stamp.fingerprint.slice(0, 12)}), this runbox speaks ${contract.name} ${contract.version} ` +
        `(sha256:${contract.fingerprint.slice(0, 12)}): ${report.reasons.join('; ')}. ` +
        'Open it with the runbox build that wrote it (or a newer compatible one), ' +
        'or start this build on a new database file (--db PATH).',
      { field: 'contract_version' },
    );
  }
  if (olderThan(stamp.version, contract.version)) writeContractStamp(db, contract);
}
