CREATE TABLE "dfm"."job" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"key" text,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 5 NOT NULL,
	"run_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_by" text,
	"locked_until" timestamp with time zone,
	"last_error" text,
	"result" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "dfm"."sync" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source_id" text NOT NULL,
	"trigger" text NOT NULL,
	"sha" text,
	"outcome" text NOT NULL,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"changed" text[] DEFAULT '{}'::text[] NOT NULL,
	"paused" text[] DEFAULT '{}'::text[] NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone DEFAULT now() NOT NULL,
	"duration_ms" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dfm"."sync_source" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"url" text,
	"branch" text,
	"path" text NOT NULL,
	"installation_id" bigint,
	"enabled" boolean DEFAULT true NOT NULL,
	"active_sha" text,
	"active_commit" jsonb,
	"activated_at" timestamp with time zone,
	"held_prune" jsonb,
	"last_checked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dfm"."pipeline" ADD COLUMN "source_id" text DEFAULT 'local' NOT NULL;--> statement-breakpoint
ALTER TABLE "dfm"."webhook_delivery" ADD COLUMN "action" text;--> statement-breakpoint
ALTER TABLE "dfm"."webhook_delivery" ADD COLUMN "repository" text;--> statement-breakpoint
ALTER TABLE "dfm"."webhook_delivery" ADD COLUMN "handled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "dfm"."sync" ADD CONSTRAINT "sync_source_id_sync_source_id_fk" FOREIGN KEY ("source_id") REFERENCES "dfm"."sync_source"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "job_pending_key" ON "dfm"."job" USING btree ("key") WHERE state = 'pending';--> statement-breakpoint
CREATE INDEX "job_claimable" ON "dfm"."job" USING btree ("run_at","id") WHERE state in ('pending', 'running');--> statement-breakpoint
CREATE INDEX "sync_source_finished" ON "dfm"."sync" USING btree ("source_id","id");