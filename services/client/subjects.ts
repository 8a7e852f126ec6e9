/**
 * The subjects that two NATS subject patterns both match, as one pattern, or undefined when they
 * share none: `>` and `auth.>` give `auth.>`, `*.suspended` and `user.>` give `user.suspended`.
 * A consumer's filter must lie inside its stream's subjects, so the tail asks each stream for this.
 */
export function intersectSubjects(a: string, b: string): string | undefined {
  const left = a.split(".");
  const right = b.split(".");
  const shared: string[] = [];
  for (let i = 0; ; i++) {
    const l = left[i];
    const r = right[i];
    if (l === undefined || r === undefined) return l === r ? shared.join(".") : undefined;
    if (l === ">") return [...shared, ...right.slice(i)].join(".");
    if (r === ">") return [...shared, ...left.slice(i)].join(".");
    if (l !== "*" && r !== "*" && l !== r) return undefined;
    shared.push(l === "*" ? r : l);
  }
}
