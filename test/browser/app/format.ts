import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";

/** A wait in words: "42 s" under two minutes, whole minutes above. */
export function formatWait(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  return `${Math.ceil(seconds / 60)} min`;
}

/** "14:05", in the person's own locale and time zone. */
export function formatTime(timestamp: Timestamp | undefined): string {
  return timestamp
    ? new Date(timestampMs(timestamp)).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : "";
}

/** "12 Mar 2026, 14:05". */
export function formatDateTime(timestamp: Timestamp | undefined): string {
  return timestamp
    ? new Date(timestampMs(timestamp)).toLocaleString([], {
        day: "numeric",
        month: "short",
        year: "numeric",
        hour: "2-digit",
        minute: "2-digit",
      })
    : "unknown";
}
