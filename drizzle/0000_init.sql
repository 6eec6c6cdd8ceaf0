CREATE SCHEMA "dfm";
--> statement-breakpoint
CREATE TABLE "dfm"."dead_letter" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"consumer" text NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"offset" bigint NOT NULL,
	"key" text,
	"value" text,
	"error" text NOT NULL,
	"run_id" bigint,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dfm"."export_cursor" (
	"pipeline_id" text NOT NULL,
	"task_id" text NOT NULL,
	"cursor" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "export_cursor_pipeline_id_task_id_pk" PRIMARY KEY("pipeline_id","task_id")
);
--> statement-breakpoint
CREATE TABLE "dfm"."kafka_offset" (
	"consumer" text NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"offset" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "kafka_offset_consumer_topic_partition_pk" PRIMARY KEY("consumer","topic","partition")
);
--> statement-breakpoint
CREATE TABLE "dfm"."pipeline" (
	"id" text PRIMARY KEY NOT NULL,
	"active_version_id" bigint,
	"paused" boolean DEFAULT false NOT NULL,
	"max_active_runs" integer DEFAULT 1 NOT NULL,
	"scheduled_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dfm"."pipeline_version" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"pipeline_id" text NOT NULL,
	"source_ref" text NOT NULL,
	"file" text NOT NULL,
	"definition_hash" text NOT NULL,
	"definition" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dfm"."run" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"pipeline_id" text NOT NULL,
	"version_id" bigint NOT NULL,
	"trigger" text NOT NULL,
	"dedupe_key" text,
	"logical_time" timestamp with time zone NOT NULL,
	"interval_start" timestamp with time zone NOT NULL,
	"interval_end" timestamp with time zone NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"requested_by" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "dfm"."run_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" bigint NOT NULL,
	"task_id" text,
	"attempt" integer,
	"level" text NOT NULL,
	"message" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dfm"."task_attempt" (
	"task_run_id" bigint NOT NULL,
	"attempt" integer NOT NULL,
	"worker" text,
	"state" text NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone DEFAULT now() NOT NULL,
	"error" jsonb,
	CONSTRAINT "task_attempt_task_run_id_attempt_pk" PRIMARY KEY("task_run_id","attempt")
);
--> statement-breakpoint
CREATE TABLE "dfm"."task_run" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" bigint NOT NULL,
	"task_id" text NOT NULL,
	"task_type" text NOT NULL,
	"needs" text[] DEFAULT '{}'::text[] NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 1 NOT NULL,
	"ready_at" timestamp with time zone,
	"claimed_by" text,
	"claimed_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"error" jsonb,
	"output" jsonb
);
--> statement-breakpoint
CREATE TABLE "dfm"."webhook_delivery" (
	"delivery_id" text PRIMARY KEY NOT NULL,
	"event" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"outcome" text
);
--> statement-breakpoint
ALTER TABLE "dfm"."pipeline_version" ADD CONSTRAINT "pipeline_version_pipeline_id_pipeline_id_fk" FOREIGN KEY ("pipeline_id") REFERENCES "dfm"."pipeline"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dfm"."run" ADD CONSTRAINT "run_pipeline_id_pipeline_id_fk" FOREIGN KEY ("pipeline_id") REFERENCES "dfm"."pipeline"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dfm"."run" ADD CONSTRAINT "run_version_id_pipeline_version_id_fk" FOREIGN KEY ("version_id") REFERENCES "dfm"."pipeline_version"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dfm"."run_log" ADD CONSTRAINT "run_log_run_id_run_id_fk" FOREIGN KEY ("run_id") REFERENCES "dfm"."run"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dfm"."task_attempt" ADD CONSTRAINT "task_attempt_task_run_id_task_run_id_fk" FOREIGN KEY ("task_run_id") REFERENCES "dfm"."task_run"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dfm"."task_run" ADD CONSTRAINT "task_run_run_id_run_id_fk" FOREIGN KEY ("run_id") REFERENCES "dfm"."run"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "dead_letter_position" ON "dfm"."dead_letter" USING btree ("consumer","topic","partition","offset");--> statement-breakpoint
CREATE UNIQUE INDEX "pipeline_version_dedupe" ON "dfm"."pipeline_version" USING btree ("pipeline_id","definition_hash","source_ref");--> statement-breakpoint
CREATE UNIQUE INDEX "run_dedupe" ON "dfm"."run" USING btree ("pipeline_id","dedupe_key");--> statement-breakpoint
CREATE INDEX "run_pipeline_state" ON "dfm"."run" USING btree ("pipeline_id","state");--> statement-breakpoint
CREATE INDEX "run_pipeline_created" ON "dfm"."run" USING btree ("pipeline_id","created_at");--> statement-breakpoint
CREATE INDEX "run_log_run" ON "dfm"."run_log" USING btree ("run_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "task_run_run_task" ON "dfm"."task_run" USING btree ("run_id","task_id");--> statement-breakpoint
CREATE INDEX "task_run_ready" ON "dfm"."task_run" USING btree ("ready_at","id") WHERE state = 'ready';--> statement-breakpoint
CREATE INDEX "task_run_running" ON "dfm"."task_run" USING btree ("heartbeat_at") WHERE state = 'running';