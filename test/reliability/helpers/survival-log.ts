// One line per fault or attack scenario, in the shape of the README's "What it survives" table:
// printed with the test output, and appended to $RELIABILITY_REPORT (a file) when that is set.
import { appendFileSync } from "node:fs";

export interface Survival {
  fault: string;
  tried: string;
  times: number | string;
  lost: string;
}

export function recordSurvival(survival: Survival): void {
  const line = `| ${survival.fault} | ${survival.tried} | ${survival.times} | ${survival.lost} |`;
  console.info(`[what it survives] ${line}`);
  const file = process.env.RELIABILITY_REPORT;
  if (file) appendFileSync(file, `${line}\n`);
}
