CREATE TABLE "dfm"."outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"target" text NOT NULL,
	"kind" text NOT NULL,
	"key" text,
	"payload" jsonb NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"result" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "dfm"."outbox_target" (
	"target" text PRIMARY KEY NOT NULL,
	"not_before" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_by" text,
	"locked_until" timestamp with time zone,
	"last_error" text
);
--> statement-breakpoint
CREATE TABLE "dfm"."pr_comment" (
	"repository" text NOT NULL,
	"pr_number" integer NOT NULL,
	"comment_id" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pr_comment_repository_pr_number_pk" PRIMARY KEY("repository","pr_number")
);
--> statement-breakpoint
CREATE TABLE "dfm"."pr_review" (
	"repository" text NOT NULL,
	"pr_number" integer NOT NULL,
	"head_sha" text NOT NULL,
	"base_sha" text,
	"seq" bigint NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"conclusion" text,
	"check_run_id" bigint,
	"from_fork" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pr_review_repository_pr_number_head_sha_pk" PRIMARY KEY("repository","pr_number","head_sha")
);
--> statement-breakpoint
CREATE INDEX "outbox_pending" ON "dfm"."outbox" USING btree ("target","id") WHERE state = 'pending';--> statement-breakpoint
CREATE INDEX "outbox_finished" ON "dfm"."outbox" USING btree ("finished_at") WHERE state <> 'pending';--> statement-breakpoint
CREATE INDEX "pr_review_head" ON "dfm"."pr_review" USING btree ("repository","head_sha");