import type Docker from 'dockerode';
import {
  checkCompatibility,
  parseContractLabel,
  type CompatibilityReport,
  type PeerContract,
} from '../contract/compatibility.js';
import { CURRENT_CONTRACT, type ContractDescriptor } from '../contract/contract.js';
import { RunboxError } from '../errors/index.js';
import { shownValue } from '../shownValue.js';

/** Label an image carries when it embeds a runbox component. */
export const IMAGE_CONTRACT_LABEL = 'io.runbox.contract';

export interface ImageContract {
  /** null when the image carries no label: it embeds no runbox component. */
  contract: PeerContract | null;
  report: CompatibilityReport | null;
}

/** Reads an image's contract label and judges it; throws if the image is missing. */
export async function readImageContract(
  docker: Docker,
  image: string,
  reader: ContractDescriptor = CURRENT_CONTRACT,
): Promise<ImageContract> {
  const info = await docker.getImage(image).inspect();
  return judgeImageLabels(image, info.Config?.Labels ?? null, reader);
}

/** Judges an image's labels against this build's contract. */
export function judgeImageLabels(
  image: string,
  labels: Record<string, string> | null,
  reader: ContractDescriptor = CURRENT_CONTRACT,
): ImageContract {
  const raw = labels?.[IMAGE_CONTRACT_LABEL];
  if (raw === undefined) return { contract: null, report: null };
  const contract = parseContractLabel(raw);
  if (!contract) {
    throw new RunboxError(
      'ImageContractMismatch',
      `image ${image} has an unreadable ${IMAGE_CONTRACT_LABEL} label ${shownValue(raw)}; expected JSON {"name","version","fingerprint"}`,
      { field: 'image' },
    );
  }
  return { contract, report: checkCompatibility(contract, reader) };
}

/** Refuses an image whose label names an incompatible contract, before any container exists. */
export function assertImageContract(
  image: string,
  labels: Record<string, string> | null,
  reader?: ContractDescriptor,
): void {
  const { report } = judgeImageLabels(image, labels, reader);
  if (report && !report.compatible) {
    throw new RunboxError(
      'ImageContractMismatch',
      `image ${image} was built for contract ${report.writer.name} ${report.writer.version}, ` +
        `this runbox speaks ${report.reader.version}: ${report.reasons.join('; ')}. Rebuild the image with this runbox version.`,
      { field: 'image' },
    );
  }
}
