import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { requirePrincipal } from "../../shared/auth/principal.js";
import { requestInfoKey } from "../../shared/server/request-info.js";
import type { DeviceCaller, DeviceService, TrustingCaller } from "../domain/device-service.js";
import type { UserDevice } from "../domain/devices.js";

export function createDeviceHandlers(deps: {
  devices: DeviceService;
}): Pick<ServiceImpl<typeof AuthService>, "listDevices" | "trustDevice" | "blockDevice" | "unblockDevice"> {
  return {
    async listDevices(_request, context) {
      const me = requirePrincipal(context);
      const devices = await deps.devices.list(me.userId);
      return { devices: devices.map((device) => deviceToProto(device, me.deviceId)) };
    },

    async trustDevice(request, context) {
      const me = requirePrincipal(context);
      const caller: TrustingCaller = { ...deviceCaller(context), sessionId: me.sessionId };
      return { device: deviceToProto(await deps.devices.trust(caller, request.deviceId), caller.deviceId) };
    },

    async blockDevice(request, context) {
      const caller = deviceCaller(context);
      const result = await deps.devices.block(caller, request.deviceId, request.reason);
      return { device: deviceToProto(result.device, caller.deviceId), revokedSessionCount: result.revokedSessionCount };
    },

    async unblockDevice(request, context) {
      const caller = deviceCaller(context);
      return { device: deviceToProto(await deps.devices.unblock(caller, request.deviceId), caller.deviceId) };
    },
  };
}

function deviceCaller(context: HandlerContext): DeviceCaller {
  const me = requirePrincipal(context);
  const request = context.values.get(requestInfoKey);
  return {
    userId: me.userId,
    deviceId: me.deviceId,
    authTime: me.authTime,
    ip: request.ip,
    userAgent: request.userAgent,
  };
}

function deviceToProto(device: UserDevice, currentDeviceId: string) {
  return {
    id: device.id,
    deviceId: device.deviceId,
    deviceName: device.deviceName,
    deviceType: device.deviceType,
    osName: device.osName,
    osVersion: device.osVersion,
    browserName: device.browserName,
    browserVersion: device.browserVersion,
    fingerprint: device.fingerprint,
    trusted: device.trusted,
    blocked: device.blocked,
    blockedReason: device.blockedReason,
    lastIp: device.lastIp,
    lastUsedAt: timestampFromDate(device.lastUsedAt),
    createdAt: timestampFromDate(device.createdAt),
    current: device.deviceId === currentDeviceId,
  };
}
