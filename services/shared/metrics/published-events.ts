import type { OutboxMessage, OutboxPublisher } from "../outbox/relay.js";
import type { ServiceMetrics } from "./service-metrics.js";

/**
 * Wraps the relay's publisher to count what JetStream acknowledged, and what it refused, by subject,
 * and to time each acknowledged event from its transaction (the relay lag).
 */
export function countPublishedEvents(publisher: OutboxPublisher, metrics: ServiceMetrics): OutboxPublisher {
  return {
    async publish(message: OutboxMessage) {
      try {
        await publisher.publish(message);
      } catch (error) {
        metrics.eventPublishFailures.inc({ subject: message.subject });
        throw error;
      }
      metrics.eventsPublished.inc({ subject: message.subject });
      metrics.relayLag.observe(Math.max(0, Date.now() - message.created_at.getTime()) / 1000);
    },
  };
}
