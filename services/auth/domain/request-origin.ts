/**
 * Where a request came from, as the transport tells it: recorded on the events the request causes
 * and on the sessions it starts.
 */
export interface RequestOrigin {
  ip: string;
  userAgent: string;
}
