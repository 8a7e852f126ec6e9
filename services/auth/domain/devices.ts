/** A device that signed in to an account, as the device RPCs show it. */
export interface UserDevice {
  /** Device record id. */
  id: string;
  /** Client-chosen device id. */
  deviceId: string;
  deviceName: string;
  deviceType: string;
  osName: string;
  osVersion: string;
  browserName: string;
  browserVersion: string;
  fingerprint: string;
  trusted: boolean;
  blocked: boolean;
  blockedReason: string;
  lastIp: string;
  lastUsedAt: Date;
  createdAt: Date;
}

/** The flags a user changes on one of their devices. */
export interface DeviceFlags {
  trusted: boolean;
  blocked: boolean;
  blockedReason: string;
  blockedAt: Date | null;
}
