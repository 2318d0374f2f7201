/** The executor's public surface; everything else in this folder is internal. */
export type {
  AbortReason,
  ContainerIdentity,
  ExecuteRequest,
  Executor,
  LogStream,
} from './Executor.js';
export { LABELS } from './Executor.js';
export {
  DockerExecutor,
  createDockerExecutor,
  type DockerExecutorOptions,
} from './DockerExecutor.js';
export { findContainers, removeContainer, type FoundContainer } from './findContainers.js';
