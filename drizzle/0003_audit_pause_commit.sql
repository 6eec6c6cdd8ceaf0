CREATE TABLE "dfm"."audit" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"via" text NOT NULL,
	"action" text NOT NULL,
	"target" text,
	"outcome" text NOT NULL,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dfm"."pipeline" ADD COLUMN "paused_by" text;--> statement-breakpoint
ALTER TABLE "dfm"."pipeline" ADD COLUMN "paused_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "dfm"."pipeline_version" ADD COLUMN "commit_author" text;--> statement-breakpoint
ALTER TABLE "dfm"."pipeline_version" ADD COLUMN "commit_message" text;--> statement-breakpoint
ALTER TABLE "dfm"."pipeline_version" ADD COLUMN "committed_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "audit_at" ON "dfm"."audit" USING btree ("at","id");--> statement-breakpoint
CREATE INDEX "audit_target" ON "dfm"."audit" USING btree ("target","at");