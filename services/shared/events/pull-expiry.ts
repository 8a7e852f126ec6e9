/**
 * How long one pull of a consumer waits on the server (`expires` of `consume()`). While idle the
 * server sends a heartbeat every half of it, and the client counts two missed heartbeats as a lost
 * consumer: so after a NATS cluster member dies, a durable consumer whose leader moved asks its new
 * leader, and an ordered consumer that lived on the dead member is replaced, within about this long.
 * The library's default, 30 s, would leave consumers deaf for half a minute after every failover;
 * the price of 5 s is one pull request per consumer every 5 s while idle.
 */
export const pullExpiresMs = 5_000;
