import { z } from 'zod';

/** Kafka's compression codecs, as Kafka's `compression.type` names them (src/kafka/compression-codecs.ts implements them). */
export const KAFKA_COMPRESSION_CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/**
 * How a producing task compresses its record batches. Default none, as the Java client and
 * librdkafka default `compression.type`: every consumer reads it, where a kafkajs consumer without
 * codec plugins reads only none and gzip, so turning compression on stays the topic owner's choice.
 */
export const kafkaCompressionSchema = z
  .enum(KAFKA_COMPRESSION_CODECS)
  .default('none')
  .describe(
    'How record batches are compressed: none, gzip, snappy, lz4 or zstd. Default none (as Kafka\'s own producers default), which every consumer reads; lz4 is the cheapest on CPU, zstd the smallest. dfm reads every codec whatever is chosen.',
  );
