#!/usr/bin/python3
"""Real RTSP servers for the live tests, on 127.0.0.1 (GStreamer gst-rtsp-server).

Runs under Debian's /usr/bin/python3 (python3-gi), never inside the project venv.

    camera:  gst_rtsp_server.py camera --port P [--width W --height H --fps F] [--file clip.mp4]
             [--user U --password P]  (basic authentication: a wrong password gets 401)
    record:  gst_rtsp_server.py record --port P --out recorded.mkv

Prints "READY <port>" once listening. A record server writes what a publisher
sends (RECORD mode) into --out and prints "DONE" when the publisher has gone.
"""

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstRtsp", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("camera", "record"))
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--path", default="/cam")
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--pattern", default="ball", help="videotestsrc pattern (snow: noise, a high bitrate)")
    ap.add_argument("--file")
    ap.add_argument("--out")
    ap.add_argument("--user", help="require this user (basic authentication) ...")
    ap.add_argument("--password", help="... with this password")
    args = ap.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    if args.mode == "camera":
        if args.file:
            launch = (f"( filesrc location={args.file} ! qtdemux ! h264parse ! "
                      "rtph264pay name=pay0 pt=96 config-interval=1 )")
        else:
            launch = (
                f"( videotestsrc is-live=true pattern={args.pattern} ! video/x-raw,width={args.width},height={args.height},"
                f"framerate={args.fps}/1 ! openh264enc complexity=low gop-size={args.fps} ! h264parse ! "
                "rtph264pay name=pay0 pt=96 config-interval=1 )"
            )
        factory.set_launch(launch)
        # one pipeline per client: with a shared media, two clients connecting at once can abort the server
        # (gst-rtsp-server 1.22: "gst_rtsp_media_get_rates: assertion failed"), seen in the credentials test
        factory.set_shared(False)
    else:
        factory.set_launch(f"( rtph264depay name=depay0 ! h264parse ! matroskamux ! filesink location={args.out} sync=false )")
        factory.set_transport_mode(GstRtspServer.RTSPTransportMode.RECORD)
        factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)
        factory.set_eos_shutdown(True)

        def on_configure(_factory, media):
            def on_added(_bin, element):
                if element.get_factory() and element.get_factory().get_name() == "rtpbin":
                    element.set_property("buffer-mode", 0)

            media.get_element().connect("deep-element-added", lambda b, sub, el: on_added(b, el))
            media.connect("unprepared", lambda *_: print("DONE", flush=True))

        factory.connect("media-configure", on_configure)
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_role("viewer")
        permissions.add_permission_for_role("viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        permissions.add_permission_for_role("viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory(args.path, factory)
    server.attach(None)
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
