import { describe, expect, it } from "vitest";
import { type DrainOutcome, nextDrain } from "../../../../services/shared/outbox/drain-pacing.js";

// Each drain is a transaction whatever it carries, so while events keep coming the relay spaces its
// drains a linger apart; a backlog is drained at once and an idle relay waits for a commit.

const busy: DrainOutcome = {
  published: 5,
  batchSize: 200,
  wokenDuringDrain: true,
  msSinceDrainStarted: 3,
  lingerMs: 10,
};

describe("when the outbox relay drains next", () => {
  it("at once after a full batch: a backlog", () => {
    expect(nextDrain({ ...busy, published: 200 })).toBe(0);
    expect(nextDrain({ ...busy, published: 200, wokenDuringDrain: false })).toBe(0);
  });

  it("a linger after the busy drain started, with what was committed since", () => {
    expect(nextDrain(busy)).toBe(7);
    expect(nextDrain({ ...busy, msSinceDrainStarted: 0 })).toBe(10);
  });

  it("at once after a busy drain that took longer than a linger", () => {
    expect(nextDrain({ ...busy, msSinceDrainStarted: 10 })).toBe(0);
    expect(nextDrain({ ...busy, msSinceDrainStarted: 250 })).toBe(0);
  });

  it("never later than a linger, whatever the clock says", () => {
    expect(nextDrain({ ...busy, msSinceDrainStarted: -5_000 })).toBe(10);
  });

  it("when woken, after a drain that found nothing or that nothing woke", () => {
    expect(nextDrain({ ...busy, published: 0 })).toBe("when woken");
    expect(nextDrain({ ...busy, wokenDuringDrain: false })).toBe("when woken");
  });

  it("back to back when lingering is switched off", () => {
    expect(nextDrain({ ...busy, lingerMs: 0 })).toBe(0);
  });
});
