CREATE TABLE "dfm"."slack_message" (
	"run_id" bigint PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"channel_id" text,
	"ts" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dfm"."slack_message" ADD CONSTRAINT "slack_message_run_id_run_id_fk" FOREIGN KEY ("run_id") REFERENCES "dfm"."run"("id") ON DELETE cascade ON UPDATE no action;