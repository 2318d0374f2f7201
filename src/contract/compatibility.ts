import { CURRENT_CONTRACT, type ContractDescriptor } from './contract.js';
import { diffSchemas, type SchemaDifference } from './schemaDiff.js';

/**
 * The compatibility rule, in one place:
 *   1. same contract name;
 *   2. same major version;
 *   3. the same version must have the same fingerprint (a shape change without a
 *      version bump is itself an error);
 *   4. the reader's schema accepts what the writer produces (schemaDiff.ts). When the
 *      other side gives no schema (an image label), rule 4 falls back to versions: an
 *      older or equal minor is accepted, since minor bumps only add optional fields.
 * The reader is this build; the writer is the other side (a database, a worker, an
 * image, a contract file), whose results this build would read.
 */
export interface CompatibilityReport {
  compatible: boolean;
  /** One line per reason it is not compatible; empty when it is. */
  reasons: string[];
  differences: SchemaDifference[];
  reader: Pick<ContractDescriptor, 'name' | 'version' | 'fingerprint'>;
  writer: Pick<ContractDescriptor, 'name' | 'version' | 'fingerprint'>;
}

export type PeerContract = Pick<ContractDescriptor, 'name' | 'version' | 'fingerprint'> & {
  schema?: unknown;
};

function parseVersion(version: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

export function checkCompatibility(
  writer: PeerContract,
  reader: ContractDescriptor = CURRENT_CONTRACT,
): CompatibilityReport {
  const reasons: string[] = [];
  const rv = parseVersion(reader.version);
  const wv = parseVersion(writer.version);
  if (writer.name !== reader.name) {
    reasons.push(
      `contract name differs: this build speaks "${reader.name}", the other "${writer.name}"`,
    );
  }
  if (!wv) {
    reasons.push(`the other's version "${writer.version}" is not semver (MAJOR.MINOR.PATCH)`);
  } else if (rv && wv[0] !== rv[0]) {
    reasons.push(
      `major version differs: this build ${reader.version}, the other ${writer.version}`,
    );
  } else if (writer.version === reader.version && writer.fingerprint !== reader.fingerprint) {
    reasons.push(
      `same version ${reader.version} but a different fingerprint (this build ${reader.fingerprint.slice(0, 12)}, ` +
        `the other ${writer.fingerprint.slice(0, 12)}): the shape changed without a version bump`,
    );
  }

  let differences: SchemaDifference[] = [];
  if (writer.schema !== undefined) {
    differences = diffSchemas(reader.schema, writer.schema);
    if (differences.length > 0) {
      reasons.push(`this build's schema rejects ${differences.length} field(s) the other writes`);
    }
  } else if (rv && wv && wv[0] === rv[0] && wv[1] > rv[1]) {
    reasons.push(
      `the other is newer (${writer.version} > ${reader.version}) and gives no schema to check`,
    );
  }

  const pick = (c: PeerContract) => ({
    name: c.name,
    version: c.version,
    fingerprint: c.fingerprint,
  });
  return {
    compatible: reasons.length === 0,
    reasons,
    differences,
    reader: pick(reader),
    writer: pick(writer),
  };
}

/** A report as lines a person can act on. */
export function formatReport(report: CompatibilityReport, otherLabel: string): string {
  const lines = [
    `this build: ${report.reader.name} ${report.reader.version} sha256:${report.reader.fingerprint}`,
    `${otherLabel}: ${report.writer.name} ${report.writer.version} sha256:${report.writer.fingerprint}`,
  ];
  if (report.compatible) {
    lines.push('compatible');
    return lines.join('\n');
  }
  lines.push('INCOMPATIBLE:');
  for (const reason of report.reasons) lines.push(`  - ${reason}`);
  for (const d of report.differences) lines.push(`  ${d.kind.padEnd(12)} ${d.path}: ${d.detail}`);
  lines.push(
    'fix: rebuild the older side from the same runbox version, or bump the contract version deliberately',
  );
  return lines.join('\n');
}

/** `io.runbox.contract` label value: JSON {name, version, fingerprint}. */
export function contractLabelValue(contract: PeerContract = CURRENT_CONTRACT): string {
  return JSON.stringify({
    name: contract.name,
    version: contract.version,
    fingerprint: contract.fingerprint,
  });
}

export function parseContractLabel(value: string): PeerContract | null {
  try {
    const parsed = JSON.parse(value) as Partial<PeerContract>;
    if (
      typeof parsed.name === 'string' &&
      typeof parsed.version === 'string' &&
      typeof parsed.fingerprint === 'string'
    ) {
      return { name: parsed.name, version: parsed.version, fingerprint: parsed.fingerprint };
    }
  } catch {
    // fall through: not JSON
  }
  return null;
}
