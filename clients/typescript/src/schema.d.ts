// Generated from the runbox OpenAPI document by `npx tsx scripts/gen-client.ts`; do not edit.
export interface paths {
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This OpenAPI document */
        get: operations["getOpenApi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Liveness, the Docker engine and the queue database; 503 when either is down or it drains to stop
         * @description Open without the token, for load balancer probes.
         */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/contract": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This server's result contract (name, version, fingerprint, schema) */
        get: operations["getContract"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/workers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Registered workers, alive or dead */
        get: operations["listWorkers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/queues": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Named queues: depth, running, oldest waiting, live workers serving each
         * @description Every queue with jobs queued or running, or a live worker serving it. Jobs reserved for one `runbox run` process are not counted.
         */
        get: operations["listQueues"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/activity": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The last hour by minute: jobs submitted, dequeued and finished, queue depth
         * @description The dashboard's chart. Reads only the last hour's rows.
         */
        get: operations["getActivity"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runtimes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Configured runtimes, their images, and whether each image is on the engine */
        get: operations["listRuntimes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics of this process (text exposition format 0.0.4) */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This API as a browsable reference page (Swagger UI, served offline) */
        get: operations["getDocs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The web dashboard: jobs, logs, outputs, workers (served offline)
         * @description Reads the /v1 API. With a token configured it asks for it once and keeps an HttpOnly, SameSite=Strict session cookie (POST /v1/session); ?token= works once.
         */
        get: operations["getDashboard"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/session": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Log a browser in: trade the token for a session cookie
         * @description The dashboard sends the token once; the API then accepts the cookie instead of the bearer header. Requests from other origins are refused before this runs (403).
         */
        post: operations["createSession"];
        /** Log a browser out: end its session and clear the cookie */
        delete: operations["deleteSession"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/jobs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Jobs, newest first, with cursor pagination */
        get: operations["listJobs"];
        put?: never;
        /**
         * Submit a job
         * @description 201 with Location when created; 200 when the idempotency key names a job sent with the same body; 409 when that job was sent with another body. wait=true answers once the job is final (or wait_seconds passed). 503 ServerUnavailable while the server drains to stop.
         */
        post: operations["submitJob"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/jobs/batch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Submit many jobs in one transaction: all stored, or none
         * @description 409 when a job names an idempotency key already given to a job sent with another body (error.field jobs.<i>.idempotency_key); then none is stored. 503 ServerUnavailable while the server drains to stop.
         */
        post: operations["submitJobs"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/jobs/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One job; wait=true answers once it is final */
        get: operations["getJob"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/jobs/{id}/brief": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One job as a page of jobs lists it: input files without their content
         * @description What GET /v1/jobs/{id} answers (wait=true as well), but each input file is {path, encoding, mode, bytes}: for a view or a wait that polls a job whose inputs are large.
         */
        get: operations["getJobBrief"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/jobs/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel a job
         * @description A queued job is cancelled at once; a running one has its container killed and its partial output kept (the answer shows it still running until its worker records it). A job that has already ended gets 409.
         */
        post: operations["cancelJob"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/jobs/{id}/logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A job's stdout or stderr; follow=true streams until it ends
         * @description The bytes the job wrote, as they are: text/plain with charset=utf-8 only when a finished job's stored log is valid UTF-8, without a charset otherwise (a running job's live bytes too). Over limits.log_bytes the stored log is that long: the head and the tail around a marked cut. A finished job's log has an ETag and answers one Range (If-Range, If-None-Match) as an output file does; a running job's log ignores them (200, the bytes so far).
         */
        get: operations["getJobLogs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/jobs/{id}/attempts/{attempt}/live-log": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One running attempt's live log on this node (node to node)
         * @description What another node asks when a client follows there a job that runs here: the bytes of the attempt's live file from `from`, as written. Empty when this node does not run that attempt. Clients use /v1/jobs/{id}/logs, which ends with the stored log.
         */
        get: operations["getLiveLog"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/jobs/{id}/outputs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The job's output manifest: path, size, sha256, compressed size */
        get: operations["getOutputManifest"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/jobs/{id}/outputs.tar.zst": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every output as one tar.zst stream, built on the fly */
        get: operations["getOutputsArchive"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/jobs/{id}/outputs/{path}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One output file
         * @description zstd frames as stored when Accept-Encoding allows zstd (Content-Encoding: zstd), else decompressed; one Range on the decompressed bytes; ETag and If-None-Match.
         */
        get: operations["getOutputFile"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/jobs/{id}/webhooks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A job's webhook deliveries and every attempt made
         * @description Empty until the job reaches a final state (and always for a job without webhook_url).
         */
        get: operations["listJobWebhooks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schedules": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Schedules by name, with cursor pagination
         * @description Pages of `limit` (default 100) in byte order of their names; pass `next_cursor` as `cursor` for the next page (null on the last). A cursor that is not a schedule name gets 400 naming cursor.
         */
        get: operations["listSchedules"];
        put?: never;
        /**
         * Add a recurring schedule
         * @description The job body is checked as a submit would be (400 naming job.<field>); 409 when the name is taken.
         */
        post: operations["addSchedule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schedules/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One schedule */
        get: operations["getSchedule"];
        put?: never;
        post?: never;
        /** Remove a schedule (jobs it enqueued stay) */
        delete: operations["removeSchedule"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schedules/{name}/pause": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Pause a schedule: it fires nothing until resumed */
        post: operations["pauseSchedule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schedules/{name}/resume": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Resume a schedule: next due time after now (times passed while paused are skipped) */
        post: operations["resumeSchedule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * @description Stable error type, e.g. InvalidSpec, NotFound
         * @enum {string}
         */
        ErrorType: "NonZeroExit" | "Timeout" | "OOMKilled" | "ImageUnavailable" | "ImageContractMismatch" | "InvalidSpec" | "ContractViolation" | "OutputLimitExceeded" | "WorkerLost" | "Cancelled" | "EngineUnavailable" | "Internal" | "ContractMismatch" | "SchemaTooNew" | "InvalidConfig" | "NotFound" | "MethodNotAllowed" | "Unauthorized" | "Forbidden" | "MisdirectedRequest" | "Conflict" | "PayloadTooLarge" | "InsufficientStorage" | "StaleAttempt" | "ServerUnavailable" | "TooManyRequests" | "NodeUnreachable" | "StorageUnavailable" | "UsageError" | "ChecksumMismatch" | "ImageUnlabelled";
        Error: {
            error: {
                type: components["schemas"]["ErrorType"];
                /** @description What is wrong and how to fix it */
                message: string;
                field: string | null;
                /** @description The x-request-id of this request */
                request_id: string;
            };
        };
        Health: {
            /** @description draining: told to stop, it finishes its running jobs and takes no new one */
            status: "ok" | "degraded" | "draining";
            engine: "ok" | "unavailable" | "unknown";
            /** @description whether the queue database answered this node's last reaper pass (every second); unknown before the first */
            database: "ok" | "unavailable" | "unknown";
            /** @description low while the data dir's disk has less than limits.minFreeBytes free: submissions then get 507, and status stays ok, as jobs already queued still run; unknown when it could not be measured */
            disk: "ok" | "low" | "unknown";
            version: string;
            /** @description runtime images the engine lacks (jobs on them pull first); null before the first check */
            images_missing: string[] | null;
        };
        Contract: {
            name: string;
            /** @description semver of the result contract */
            version: string;
            /** @description sha256 of the canonical JSON schema */
            fingerprint: string;
            /** @description The result JSON Schema */
            schema: unknown;
        };
        Worker: {
            id: string;
            host: string;
            pid: number;
            version: string;
            contract_version: string;
            address: string | null;
            /** @description The named queues it serves, each with its slots (a worker runs at most that many of the queue's jobs at once); {} for a node that runs no jobs */
            queues: {
                [key: string]: number;
            };
            /**
             * Format: date-time
             * @description When it registered
             */
            started_at: string;
            /**
             * Format: date-time
             * @description Its last heartbeat
             */
            last_heartbeat_at: string;
            state: "alive" | "dead" | "stopped";
        };
        WorkerList: {
            workers: components["schemas"]["Worker"][];
        };
        Queue: {
            name: string;
            /** @description Jobs waiting, due or not: due + scheduled */
            queued: number;
            /** @description Jobs waiting whose run_at has come: the backlog workers have to take */
            due: number;
            /** @description Jobs waiting for a run_at still in the future (not a backlog yet) */
            scheduled: number;
            running: number;
            oldest_due_at: string | null;
            /** @description Live workers serving it */
            workers: number;
            /** @description Those workers' slots for it in total */
            slots: number;
        };
        QueueList: {
            queues: components["schemas"]["Queue"][];
        };
        Activity: {
            /** @description Length of each bucket */
            bucket_seconds: number;
            buckets: {
                /**
                 * Format: date-time
                 * @description Start of the bucket
                 */
                start: string;
                submitted: number;
                /** @description Jobs that left the queue: started, or cancelled while queued */
                dequeued: number;
                succeeded: number;
                failed: number;
                cancelled: number;
                /** @description Jobs waiting at the end of the bucket; exact for the last one, approximate for earlier ones while jobs are retried */
                queued: number;
            }[];
        };
        Runtime: {
            name: string;
            image: string;
            command: string[];
            /** @description Whether the engine holds the image now; null when the engine did not answer */
            present: boolean | null;
        };
        RuntimeList: {
            runtimes: components["schemas"]["Runtime"][];
        };
        Login: {
            /** @description The server's token */
            token: string;
        };
        JobStatus: "queued" | "running" | "succeeded" | "failed" | "cancelled";
        JobResult: {
            exit_code: number | null;
            signal: string | null;
            timed_out: boolean;
            oom_killed: boolean;
            stdout: {
                /** @description True byte count the job wrote */
                bytes: number;
                /** @description Kept only head and tail */
                truncated: boolean;
                blob: string | null;
            };
            stderr: {
                /** @description True byte count the job wrote */
                bytes: number;
                /** @description Kept only head and tail */
                truncated: boolean;
                blob: string | null;
            };
            outputs: {
                /** @description Path relative to the output directory */
                path: string;
                type: "file" | "symlink";
                size: number;
                sha256: string | null;
                compressed_size: number | null;
                link_target: string | null;
            }[];
            skipped_outputs: {
                path: string;
                reason: string;
            }[];
            metrics: {
                /** @description Seconds spent in each stage */
                stage_times: {
                    image: number;
                    create: number;
                    inputs: number;
                    run: number;
                    outputs: number;
                    cleanup: number;
                };
                total_seconds: number;
                peak_memory_bytes: number | null;
                cpu_seconds: number | null;
            };
            sandbox: {
                image: string;
                user: string;
                network: string;
                read_only_root: boolean;
                cap_drop: string[];
                no_new_privileges: boolean;
                memory_bytes: number;
                nano_cpus: number;
                pids_limit: number;
                tmpfs_bytes: number;
                timeout_seconds: number;
            } | null;
            error: {
                type: "NonZeroExit" | "Timeout" | "OOMKilled" | "ImageUnavailable" | "ImageContractMismatch" | "InvalidSpec" | "ContractViolation" | "OutputLimitExceeded" | "WorkerLost" | "Cancelled" | "EngineUnavailable" | "Internal";
                message: string;
                field: string | null;
            } | null;
            /** @description ID of the image the job ran (pin a job to it with image: "sha256:..."); absent when no container was created */
            image_digest?: string;
        };
        JobSpec: {
            /** @description A runtime name from config, e.g. python:3.11 */
            runtime?: string;
            /** @description An image to run instead of a runtime */
            image?: string;
            script?: {
                /** @description Path under /work: at most 1024 bytes as UTF-8, each name at most 255 */
                path: string;
                /** @description File content, in the given encoding */
                content: string;
                encoding?: "utf8" | "base64";
                mode?: number;
            };
            files?: {
                /** @description Path under /work: at most 1024 bytes as UTF-8, each name at most 255 */
                path: string;
                /** @description File content, in the given encoding */
                content: string;
                encoding?: "utf8" | "base64";
                mode?: number;
            }[];
            command?: string[];
            args?: string[];
            env?: {
                [key: string]: string;
            };
            /** @description Names of env entries never shown or logged */
            secret_env?: string[];
            timeout_seconds?: number;
            limits?: {
                /** @description Bytes, or a size like "512m" (default from config) */
                memory?: string | number;
                /** @description CPU cores */
                cpus?: number;
                /** @description Process limit */
                pids?: number;
                /** @description Bytes /work and /outputs may hold, e.g. "1g" (default from config) */
                output_bytes?: string | number;
                /** @description Output files kept (default from config) */
                output_files?: number;
                /** @description Bytes kept per log stream, e.g. "16m" (default from config) */
                log_bytes?: string | number;
            };
            network?: "none" | "bridge";
            pull_policy?: "if-not-present" | "always" | "never";
            /** @description GPUs: a count, "all", or device IDs; the server must allow GPUs */
            gpus?: number | "all" | string[];
            /** @description http(s) URL POSTed the job (signed, see README "Webhooks") when it reaches a final state */
            webhook_url?: string;
        };
        Job: {
            id: string;
            status: components["schemas"]["JobStatus"];
            /** @description Named queue it waits in; only nodes serving it run it */
            queue: string;
            /** @description Lower runs first */
            priority: number;
            /** @description Attempts started, the running one included (its number labels the attempt's logs) */
            attempts: number;
            /** @description Of those, attempts a worker gave back unfinished (drained on a stop): they do not count against max_attempts */
            released_attempts: number;
            max_attempts: number;
            /**
             * Format: date-time
             * @description Not run before this time
             */
            run_at: string;
            /**
             * Format: date-time
             * @description When it was submitted
             */
            created_at: string;
            /**
             * Format: date-time
             * @description Last change of state
             */
            updated_at: string;
            started_at: string | null;
            finished_at: string | null;
            idempotency_key: string | null;
            worker_id: string | null;
            contract_version: string | null;
            error: {
                type: string;
                message: string;
                field: string | null;
            } | null;
            result: components["schemas"]["JobResult"] | null;
            spec: components["schemas"]["JobSpec"];
        };
        SubmitRequest: {
            /** @description A runtime name from config, e.g. python:3.11 */
            runtime?: string;
            /** @description An image to run instead of a runtime */
            image?: string;
            script?: {
                /** @description Path under /work: at most 1024 bytes as UTF-8, each name at most 255 */
                path: string;
                /** @description File content, in the given encoding */
                content: string;
                encoding?: "utf8" | "base64";
                mode?: number;
            };
            files?: {
                /** @description Path under /work: at most 1024 bytes as UTF-8, each name at most 255 */
                path: string;
                /** @description File content, in the given encoding */
                content: string;
                encoding?: "utf8" | "base64";
                mode?: number;
            }[];
            command?: string[];
            args?: string[];
            env?: {
                [key: string]: string;
            };
            /** @description Names of env entries never shown or logged */
            secret_env?: string[];
            timeout_seconds?: number;
            limits?: {
                /** @description Bytes, or a size like "512m" (default from config) */
                memory?: string | number;
                /** @description CPU cores */
                cpus?: number;
                /** @description Process limit */
                pids?: number;
                /** @description Bytes /work and /outputs may hold, e.g. "1g" (default from config) */
                output_bytes?: string | number;
                /** @description Output files kept (default from config) */
                output_files?: number;
                /** @description Bytes kept per log stream, e.g. "16m" (default from config) */
                log_bytes?: string | number;
            };
            network?: "none" | "bridge";
            pull_policy?: "if-not-present" | "always" | "never";
            /** @description GPUs: a count, "all", or device IDs; the server must allow GPUs */
            gpus?: number | "all" | string[];
            /** @description http(s) URL POSTed the job (signed, see README "Webhooks") when it reaches a final state */
            webhook_url?: string;
            /** @description Named queue (1-64 of a-z 0-9 . _ -); only nodes serving it run the job (default "default") */
            queue?: string;
            /** @description Lower runs first (default 0) */
            priority?: number;
            /** @description ISO 8601 time before which it will not run */
            run_at?: string;
            max_attempts?: number;
            retry_on_exit_codes?: number[];
            idempotency_key?: string;
        };
        BatchAnswer: {
            jobs: {
                id: string;
                status: components["schemas"]["JobStatus"];
                /** @description Named queue it waits in; only nodes serving it run it */
                queue: string;
                /** @description Lower runs first */
                priority: number;
                /** @description Attempts started, the running one included (its number labels the attempt's logs) */
                attempts: number;
                /** @description Of those, attempts a worker gave back unfinished (drained on a stop): they do not count against max_attempts */
                released_attempts: number;
                max_attempts: number;
                /**
                 * Format: date-time
                 * @description Not run before this time
                 */
                run_at: string;
                /**
                 * Format: date-time
                 * @description When it was submitted
                 */
                created_at: string;
                /**
                 * Format: date-time
                 * @description Last change of state
                 */
                updated_at: string;
                started_at: string | null;
                finished_at: string | null;
                idempotency_key: string | null;
                worker_id: string | null;
                contract_version: string | null;
                error: {
                    type: string;
                    message: string;
                    field: string | null;
                } | null;
                result: components["schemas"]["JobResult"] | null;
                spec: components["schemas"]["JobSpec"];
                /** @description false when its idempotency key named a job */
                created: boolean;
            }[];
        };
        BatchRequest: {
            jobs: {
                /** @description A runtime name from config, e.g. python:3.11 */
                runtime?: string;
                /** @description An image to run instead of a runtime */
                image?: string;
                script?: {
                    /** @description Path under /work: at most 1024 bytes as UTF-8, each name at most 255 */
                    path: string;
                    /** @description File content, in the given encoding */
                    content: string;
                    encoding?: "utf8" | "base64";
                    mode?: number;
                };
                files?: {
                    /** @description Path under /work: at most 1024 bytes as UTF-8, each name at most 255 */
                    path: string;
                    /** @description File content, in the given encoding */
                    content: string;
                    encoding?: "utf8" | "base64";
                    mode?: number;
                }[];
                command?: string[];
                args?: string[];
                env?: {
                    [key: string]: string;
                };
                /** @description Names of env entries never shown or logged */
                secret_env?: string[];
                timeout_seconds?: number;
                limits?: {
                    /** @description Bytes, or a size like "512m" (default from config) */
                    memory?: string | number;
                    /** @description CPU cores */
                    cpus?: number;
                    /** @description Process limit */
                    pids?: number;
                    /** @description Bytes /work and /outputs may hold, e.g. "1g" (default from config) */
                    output_bytes?: string | number;
                    /** @description Output files kept (default from config) */
                    output_files?: number;
                    /** @description Bytes kept per log stream, e.g. "16m" (default from config) */
                    log_bytes?: string | number;
                };
                network?: "none" | "bridge";
                pull_policy?: "if-not-present" | "always" | "never";
                /** @description GPUs: a count, "all", or device IDs; the server must allow GPUs */
                gpus?: number | "all" | string[];
                /** @description http(s) URL POSTed the job (signed, see README "Webhooks") when it reaches a final state */
                webhook_url?: string;
                /** @description Named queue (1-64 of a-z 0-9 . _ -); only nodes serving it run the job (default "default") */
                queue?: string;
                /** @description Lower runs first (default 0) */
                priority?: number;
                /** @description ISO 8601 time before which it will not run */
                run_at?: string;
                max_attempts?: number;
                retry_on_exit_codes?: number[];
                idempotency_key?: string;
            }[];
        };
        ListedFile: {
            /** @description Path under /work */
            path: string;
            encoding?: "utf8" | "base64";
            mode?: number;
            /** @description Its size once decoded */
            bytes: number;
        };
        ListedJobSpec: {
            /** @description A runtime name from config, e.g. python:3.11 */
            runtime?: string;
            /** @description An image to run instead of a runtime */
            image?: string;
            script?: {
                /** @description Path under /work: at most 1024 bytes as UTF-8, each name at most 255 */
                path: string;
                /** @description File content, in the given encoding */
                content: string;
                encoding?: "utf8" | "base64";
                mode?: number;
            };
            /** @description Input files without their content: GET /v1/jobs/{id} has it */
            files?: components["schemas"]["ListedFile"][];
            command?: string[];
            args?: string[];
            env?: {
                [key: string]: string;
            };
            /** @description Names of env entries never shown or logged */
            secret_env?: string[];
            timeout_seconds?: number;
            limits?: {
                /** @description Bytes, or a size like "512m" (default from config) */
                memory?: string | number;
                /** @description CPU cores */
                cpus?: number;
                /** @description Process limit */
                pids?: number;
                /** @description Bytes /work and /outputs may hold, e.g. "1g" (default from config) */
                output_bytes?: string | number;
                /** @description Output files kept (default from config) */
                output_files?: number;
                /** @description Bytes kept per log stream, e.g. "16m" (default from config) */
                log_bytes?: string | number;
            };
            network?: "none" | "bridge";
            pull_policy?: "if-not-present" | "always" | "never";
            /** @description GPUs: a count, "all", or device IDs; the server must allow GPUs */
            gpus?: number | "all" | string[];
            /** @description http(s) URL POSTed the job (signed, see README "Webhooks") when it reaches a final state */
            webhook_url?: string;
        };
        ListedJob: {
            id: string;
            status: components["schemas"]["JobStatus"];
            /** @description Named queue it waits in; only nodes serving it run it */
            queue: string;
            /** @description Lower runs first */
            priority: number;
            /** @description Attempts started, the running one included (its number labels the attempt's logs) */
            attempts: number;
            /** @description Of those, attempts a worker gave back unfinished (drained on a stop): they do not count against max_attempts */
            released_attempts: number;
            max_attempts: number;
            /**
             * Format: date-time
             * @description Not run before this time
             */
            run_at: string;
            /**
             * Format: date-time
             * @description When it was submitted
             */
            created_at: string;
            /**
             * Format: date-time
             * @description Last change of state
             */
            updated_at: string;
            started_at: string | null;
            finished_at: string | null;
            idempotency_key: string | null;
            worker_id: string | null;
            contract_version: string | null;
            error: {
                type: string;
                message: string;
                field: string | null;
            } | null;
            result: components["schemas"]["JobResult"] | null;
            spec: components["schemas"]["ListedJobSpec"];
        };
        JobList: {
            jobs: components["schemas"]["ListedJob"][];
            next_cursor: string | null;
        };
        OutputManifest: {
            outputs: {
                /** @description Path relative to the output directory */
                path: string;
                type: "file" | "symlink";
                size: number;
                sha256: string | null;
                compressed_size: number | null;
                link_target: string | null;
            }[];
            skipped: {
                path: string;
                reason: string;
            }[];
        };
        WebhookAttempt: {
            attempt: number;
            /**
             * Format: date-time
             * @description When the attempt started
             */
            started_at: string;
            duration_ms: number;
            status_code: number | null;
            error: string | null;
        };
        WebhookDelivery: {
            /** @description Sent as the Runbox-Delivery header */
            id: number;
            url: string;
            /** @description job.succeeded, job.failed or job.cancelled */
            event: string;
            status: "pending" | "delivered" | "failed";
            attempts: number;
            /**
             * Format: date-time
             * @description When the job ended
             */
            created_at: string;
            next_attempt_at: string | null;
            finished_at: string | null;
            last_status_code: number | null;
            last_error: string | null;
            history: components["schemas"]["WebhookAttempt"][];
        };
        WebhookDeliveryList: {
            deliveries: components["schemas"]["WebhookDelivery"][];
        };
        Schedule: {
            name: string;
            cron: string;
            timezone: string;
            /** @description Due times missed while no runbox ran: skip (default; a time found up to schedules.graceMs late still fires) or once (one job for the latest missed time) */
            catch_up: "skip" | "once";
            paused: boolean;
            /**
             * Format: date-time
             * @description Next due time (while paused: the one it had)
             */
            next_fire_at: string;
            last_fired_at: string | null;
            last_job_id: string | null;
            last_error: string | null;
            /**
             * Format: date-time
             * @description When it was added
             */
            created_at: string;
            /**
             * Format: date-time
             * @description Last change
             */
            updated_at: string;
            /** @description The job body each fire submits; secret env values redacted */
            job: {
                [key: string]: unknown;
            };
        };
        ScheduleRequest: {
            /** @description ASCII letters, digits, . - _ */
            name: string;
            /** @description 5 fields (minute hour day month weekday), 6 with seconds first, or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly */
            cron: string;
            /** @description IANA zone (default UTC) */
            timezone?: string;
            /** @description Due times missed while no runbox ran: skip (default; a time found up to schedules.graceMs late still fires) or once (one job for the latest missed time) */
            catch_up?: "skip" | "once";
            /** @description What each fire submits: a POST /v1/jobs body without idempotency_key, run_at */
            job: {
                /** @description A runtime name from config, e.g. python:3.11 */
                runtime?: string;
                /** @description An image to run instead of a runtime */
                image?: string;
                script?: {
                    /** @description Path under /work: at most 1024 bytes as UTF-8, each name at most 255 */
                    path: string;
                    /** @description File content, in the given encoding */
                    content: string;
                    encoding?: "utf8" | "base64";
                    mode?: number;
                };
                files?: {
                    /** @description Path under /work: at most 1024 bytes as UTF-8, each name at most 255 */
                    path: string;
                    /** @description File content, in the given encoding */
                    content: string;
                    encoding?: "utf8" | "base64";
                    mode?: number;
                }[];
                command?: string[];
                args?: string[];
                env?: {
                    [key: string]: string;
                };
                /** @description Names of env entries never shown or logged */
                secret_env?: string[];
                timeout_seconds?: number;
                limits?: {
                    /** @description Bytes, or a size like "512m" (default from config) */
                    memory?: string | number;
                    /** @description CPU cores */
                    cpus?: number;
                    /** @description Process limit */
                    pids?: number;
                    /** @description Bytes /work and /outputs may hold, e.g. "1g" (default from config) */
                    output_bytes?: string | number;
                    /** @description Output files kept (default from config) */
                    output_files?: number;
                    /** @description Bytes kept per log stream, e.g. "16m" (default from config) */
                    log_bytes?: string | number;
                };
                network?: "none" | "bridge";
                pull_policy?: "if-not-present" | "always" | "never";
                /** @description GPUs: a count, "all", or device IDs; the server must allow GPUs */
                gpus?: number | "all" | string[];
                /** @description http(s) URL POSTed the job (signed, see README "Webhooks") when it reaches a final state */
                webhook_url?: string;
                /** @description Named queue (1-64 of a-z 0-9 . _ -); only nodes serving it run the job (default "default") */
                queue?: string;
                /** @description Lower runs first (default 0) */
                priority?: number;
                /** @description ISO 8601 time before which it will not run */
                run_at?: string;
                max_attempts?: number;
                retry_on_exit_codes?: number[];
                idempotency_key?: string;
            };
        };
        ListedSchedule: {
            name: string;
            cron: string;
            timezone: string;
            /** @description Due times missed while no runbox ran: skip (default; a time found up to schedules.graceMs late still fires) or once (one job for the latest missed time) */
            catch_up: "skip" | "once";
            paused: boolean;
            /**
             * Format: date-time
             * @description Next due time (while paused: the one it had)
             */
            next_fire_at: string;
            last_fired_at: string | null;
            last_job_id: string | null;
            last_error: string | null;
            /**
             * Format: date-time
             * @description When it was added
             */
            created_at: string;
            /**
             * Format: date-time
             * @description Last change
             */
            updated_at: string;
            /** @description The job body each fire submits; secret env values redacted, input files as ListedFile ({path, encoding, mode, bytes}) without their content */
            job: {
                [key: string]: unknown;
            };
        };
        ScheduleList: {
            schedules: components["schemas"]["ListedSchedule"][];
            next_cursor: string | null;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: {
        /** @description The id of this request: the x-request-id sent (letters, digits, ._:- up to 128), or a new one */
        RequestId: string;
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getOpenApi: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An OpenAPI 3.1 document */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": Record<string, never>;
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Up */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Up, but the Docker engine or the queue database is unavailable, or it drains to stop */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    getContract: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The contract */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Contract"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listWorkers: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every registered worker pool */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WorkerList"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listQueues: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every queue, by name */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["QueueList"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getActivity: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Sixty one-minute buckets, oldest first */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Activity"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listRuntimes: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every configured runtime */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RuntimeList"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text format */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/plain; version=0.0.4; charset=utf-8": string;
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getDocs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The page */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self' */
                    "content-security-policy"?: string;
                    /** @description DENY */
                    "x-frame-options"?: string;
                    /** @description no-referrer */
                    "referrer-policy"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "text/html; charset=utf-8": string;
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getDashboard: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The page */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self' */
                    "content-security-policy"?: string;
                    /** @description DENY */
                    "x-frame-options"?: string;
                    /** @description nosniff */
                    "x-content-type-options"?: string;
                    /** @description no-referrer */
                    "referrer-policy"?: string;
                    /** @description no-cache */
                    "cache-control"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "text/html; charset=utf-8": string;
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    createSession: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Login"];
            };
        };
        responses: {
            /** @description Logged in */
            204: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description runbox_session_<port>: HttpOnly; SameSite=Strict; Path=/; Max-Age=86400 (Secure over TLS) */
                    "set-cookie"?: string;
                    /** @description no-store: the answer that sets a session is never cached */
                    "cache-control"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body larger than the route's limit (limits.bodyBytes) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Content-Type is not application/json in UTF-8, or the body is compressed (Content-Encoding) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may try to log in again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteSession: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Logged out */
            204: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description runbox_session_<port>: HttpOnly; SameSite=Strict; Path=/; Max-Age=86400 (Secure over TLS) */
                    "set-cookie"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body larger than the route's limit (limits.bodyBytes) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Content-Type is not application/json in UTF-8, or the body is compressed (Content-Encoding) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listJobs: {
        parameters: {
            query?: {
                status?: components["schemas"]["JobStatus"];
                /** @description default 100 */
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobList"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    submitJob: {
        parameters: {
            query?: {
                /** @description Answer with the final job (bounded by wait_seconds) */
                wait?: boolean;
                /** @description default 60 */
                wait_seconds?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SubmitRequest"];
            };
        };
        responses: {
            /** @description The job its idempotency key already names */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description The URL of the job */
                    location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Job"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description The URL of the job */
                    location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Job"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request conflicts with the current state */
            409: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body larger than the route's limit (limits.bodyBytes) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Content-Type is not application/json in UTF-8, or the body is compressed (Content-Encoding) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The data disk is nearly full */
            507: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    submitJobs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BatchRequest"];
            };
        };
        responses: {
            /** @description Stored, in request order */
            201: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BatchAnswer"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request conflicts with the current state */
            409: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body larger than the route's limit (limits.bodyBytes) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Content-Type is not application/json in UTF-8, or the body is compressed (Content-Encoding) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The data disk is nearly full */
            507: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getJob: {
        parameters: {
            query?: {
                /** @description Answer with the final job (bounded by wait_seconds) */
                wait?: boolean;
                /** @description default 60 */
                wait_seconds?: number;
            };
            header?: never;
            path: {
                /** @description A job id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The job */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Job"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getJobBrief: {
        parameters: {
            query?: {
                /** @description Answer with the final job (bounded by wait_seconds) */
                wait?: boolean;
                /** @description default 60 */
                wait_seconds?: number;
            };
            header?: never;
            path: {
                /** @description A job id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The job */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ListedJob"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    cancelJob: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A job id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Cancelled, or cancel requested */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Job"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request conflicts with the current state */
            409: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body larger than the route's limit (limits.bodyBytes) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Content-Type is not application/json in UTF-8, or the body is compressed (Content-Encoding) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getJobLogs: {
        parameters: {
            query?: {
                /** @description default stdout */
                stream?: "stdout" | "stderr";
                /** @description Stream live until the job ends */
                follow?: boolean;
                /** @description With follow=true: only this attempt, ending once it has ended, its stored log while the job keeps it (empty once a later attempt has recorded its own); what a follower asks to mark attempts and to resume */
                attempt?: number;
                /** @description With attempt: skip this many bytes of it (those already read) */
                from?: number;
            };
            header?: {
                /** @description One bytes range (bytes=a-b, bytes=a-, bytes=-n), on identity */
                range?: string;
                /** @description An ETag from an earlier answer: 304 when it still matches */
                "if-none-match"?: string;
                /** @description The ETag a partial copy came from: the Range is served only if it matches */
                "if-range"?: string;
            };
            path: {
                /** @description A job id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The log bytes */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description "<sha256>" of the bytes; send it back in If-None-Match or If-Range */
                    etag?: string;
                    /** @description bytes */
                    "accept-ranges"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description The requested range of a stored log */
            206: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description "<sha256>" of the bytes; send it back in If-None-Match or If-Range */
                    etag?: string;
                    /** @description bytes */
                    "accept-ranges"?: string;
                    /** @description bytes a-b/size */
                    "content-range"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description Not modified: If-None-Match names this ETag */
            304: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description "<sha256>" of the bytes; send it back in If-None-Match or If-Range */
                    etag?: string;
                    /** @description bytes */
                    "accept-ranges"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Range outside the file */
            416: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description "<sha256>" of the bytes; send it back in If-None-Match or If-Range */
                    etag?: string;
                    /** @description bytes */
                    "accept-ranges"?: string;
                    /** @description bytes *\/size */
                    "content-range"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getLiveLog: {
        parameters: {
            query?: {
                /** @description default stdout */
                stream?: "stdout" | "stderr";
                /** @description Skip this many bytes (those already read) */
                from?: number;
                /** @description Stream live until the attempt stops running */
                follow?: boolean;
            };
            header?: never;
            path: {
                /** @description A job id */
                id: string;
                /** @description The attempt, as the job counts them */
                attempt: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The live bytes */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getOutputManifest: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A job id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Stored outputs and the entries skipped */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OutputManifest"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getOutputsArchive: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A job id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A tar archive, zstd-compressed */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description attachment; filename */
                    "content-disposition"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/zstd": string;
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getOutputFile: {
        parameters: {
            query?: never;
            header?: {
                /** @description One bytes range (bytes=a-b, bytes=a-, bytes=-n), on identity */
                range?: string;
                /** @description An ETag from an earlier answer: 304 when it still matches */
                "if-none-match"?: string;
                /** @description The ETag a partial copy came from: the Range is served only if it matches */
                "if-range"?: string;
                /** @description With zstd the stored frames are sent as they are */
                "accept-encoding"?: string;
            };
            path: {
                /** @description A job id */
                id: string;
                /** @description A path from the output manifest, / between parts */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The file */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description "<sha256>" of the bytes; send it back in If-None-Match or If-Range */
                    etag?: string;
                    /** @description bytes */
                    "accept-ranges"?: string;
                    /** @description accept-encoding */
                    vary?: string;
                    /** @description attachment; filename="..."; filename*=UTF-8''... */
                    "content-disposition"?: string;
                    /** @description zstd when the frames went as stored */
                    "content-encoding"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": string;
                };
            };
            /** @description The requested range */
            206: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description "<sha256>" of the bytes; send it back in If-None-Match or If-Range */
                    etag?: string;
                    /** @description bytes */
                    "accept-ranges"?: string;
                    /** @description accept-encoding */
                    vary?: string;
                    /** @description attachment; filename="..."; filename*=UTF-8''... */
                    "content-disposition"?: string;
                    /** @description bytes a-b/size */
                    "content-range"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": string;
                };
            };
            /** @description Not modified: If-None-Match names this ETag */
            304: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description "<sha256>" of the bytes; send it back in If-None-Match or If-Range */
                    etag?: string;
                    /** @description bytes */
                    "accept-ranges"?: string;
                    /** @description accept-encoding */
                    vary?: string;
                    /** @description attachment; filename="..."; filename*=UTF-8''... */
                    "content-disposition"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Range outside the file */
            416: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description "<sha256>" of the bytes; send it back in If-None-Match or If-Range */
                    etag?: string;
                    /** @description bytes */
                    "accept-ranges"?: string;
                    /** @description bytes *\/size */
                    "content-range"?: string;
                    /** @description accept-encoding */
                    vary?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listJobWebhooks: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A job id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deliveries, oldest first */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookDeliveryList"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listSchedules: {
        parameters: {
            query?: {
                /** @description default 100 */
                limit?: number;
                /** @description next_cursor of the previous page */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleList"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    addSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ScheduleRequest"];
            };
        };
        responses: {
            /** @description Added */
            201: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description The URL of the schedule */
                    location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Schedule"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request conflicts with the current state */
            409: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body larger than the route's limit (limits.bodyBytes) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Content-Type is not application/json in UTF-8, or the body is compressed (Content-Encoding) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description ASCII letters, digits, . - _ */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The schedule */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Schedule"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    removeSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description ASCII letters, digits, . - _ */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The schedule removed */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Schedule"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body larger than the route's limit (limits.bodyBytes) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Content-Type is not application/json in UTF-8, or the body is compressed (Content-Encoding) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    pauseSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description ASCII letters, digits, . - _ */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Paused */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Schedule"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body larger than the route's limit (limits.bodyBytes) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Content-Type is not application/json in UTF-8, or the body is compressed (Content-Encoding) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    resumeSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description ASCII letters, digits, . - _ */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Resumed */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Schedule"];
                };
            };
            /** @description Invalid input: the field is named in error.field */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Missing or wrong bearer token */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A request from another origin (Origin or Sec-Fetch-Site): browsers are refused; so is a webhook delivery (Runbox-Delivery header) pointed at the API */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such job, output or route */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request did not arrive in full within limits.requestMs (headers or body cut short) */
            408: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request body larger than the route's limit (limits.bodyBytes) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Content-Type is not application/json in UTF-8, or the body is compressed (Content-Encoding) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The Host header names no address this server answers for (DNS rebinding) */
            421: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many wrong tokens from this address: wait Retry-After seconds */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    /** @description Seconds until this address may send a bearer token again */
                    "retry-after"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Request headers larger than the server reads (PayloadTooLarge) */
            431: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Internal error (logged with its stack under the request id) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The queue database or the blob store does not answer (StorageUnavailable), or the node running the job cannot be asked (NodeUnreachable) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
}
