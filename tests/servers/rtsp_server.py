#!/usr/bin/python3
"""RTSP test server for camsnap integration tests (GStreamer gst-rtsp-server).

Usage:
    rtsp_server.py --port N [--gop-seconds 2] [--fps 10] [--no-warm]
                   [--drop-every N] [--tls-cert PEM --tls-key PEM]

--tls-cert/--tls-key make it an rtsps:// server (RTSP over TLS, what
GStreamer calls RTSPS): every connection must speak TLS, with that
certificate (and its chain, when the PEM holds one).

Binds 127.0.0.1 only (never another address). --port 0 picks a free port.
Once listening it prints exactly one line "READY <port>" on stdout (flushed),
logs to stderr only, and serves until SIGTERM or SIGINT, then exits 0.
Exit status 2: bad arguments or the port could not be bound.
Must run under /usr/bin/python3 (Debian's gi/GStreamer modules live there).

Mounts (any WxH, 16..8192 each, is accepted; a path is mounted lazily the
first time a request names it, so /cam/2592x1944, /cam/1920x1080 and
/cam/640x360 all work without configuration):

  /cam/WxH     H.264: x264enc tune=zerolatency speed-preset=ultrafast
               bframes=0 key-int-max = fps * gop-seconds (one IDR per GOP,
               SPS/PPS repeated in each IDR access unit, several slices
               per picture from sliced threads), rtph264pay with
               config-interval=0 (it would otherwise put SPS/PPS before
               every IDR slice, which splits an IDR picture in two for
               FFmpeg's parser).
  /h265/WxH    H.265: x265enc tune=zerolatency speed-preset=ultrafast
               key-int-max as above, rtph265pay config-interval=-1.  x265
               makes open GOPs: only its first keyframe is an IDR (with
               VPS/SPS/PPS), the later ones are CRA pictures without
               in-band parameter sets (rtph265pay adds them before IDRs
               only); a late joiner gets the cached ones first (see below).
  /mjpeg/WxH   Motion JPEG: jpegenc quality=85, rtpjpegpay (RFC 2435).
               Every frame is a keyframe.  RFC 2435 describes at most
               2040x2040 in its header: use sizes up to that.
  /auth/WxH    like /cam but requires DIGEST authentication.
  /basic/WxH   like /cam but requires BASIC authentication.
               Auth is per path within this one server: PathAuth hands the
               media-factory checks to a digest-only or a basic-only
               RTSPAuth according to the path, so a 401 on /auth offers only
               "WWW-Authenticate: Digest" and on /basic only "Basic".
               Accepted credentials on both:
                   camuser / campass
                   "cam user" / "p@ss:w/rd 100%"  (for percent-encoding tests)
               A missing or wrong password gets RTSP 401.
  /nokey/WxH   H.264 that NEVER carries an IDR picture, to any client: the
               encoder's output goes through a filter that deletes every
               IDR slice NAL (type 5) while keeping SPS/PPS/SEI and all P
               slices.  The SDP still has sprop-parameter-sets and P frames
               keep flowing, so a client sees a healthy stream in which no
               keyframe ever arrives (x264 makes no further IDR anyway:
               key-int-max is 2^30).  A snapshot must end with a timeout
               ("no keyframe within Ns"), never with a picture.

Real-camera stream kinds (each is /cam unless said otherwise):
  /sliced2/WxH, /sliced4/WxH
               H.264 with exactly 2 (4) slices in every picture (x264enc
               threads=1 option-string=slices=N) and rtph264pay
               config-interval=-1, as GStreamer-based cameras send it:
               SPS and PPS before EVERY IDR slice, so an IDR access unit
               goes  AUD SPS PPS [SEI]  SPS PPS IDR  SPS PPS IDR ...
               (x264's own SPS/PPS, then the payloader's before each slice).
  /hevcsliced2/WxH, /hevcsliced4/WxH
               H.265 with exactly 2 (4) slices in every picture (x265enc
               option-string=slices=N:open-gop=0, so each keyframe is an
               IDR, not a CRA) and rtph265pay config-interval=-1.  Unlike
               rtph264pay, rtph265pay (1.22) sends VPS/SPS/PPS once per
               access unit, before its FIRST IDR slice only:
                   VPS SPS PPS IDR(first) IDR IDR IDR TRAIL(first) ...
  /intra/WxH   H.264 with periodic intra refresh (x264enc intra-refresh=true,
               refresh period = fps * gop-seconds): a column of intra blocks
               sweeps the picture, each wave starts at a picture carrying
               SPS, PPS and a recovery point SEI (NAL 6, payload type 6).
               x264 writes one IDR, the very first picture; like /nokey the
               filter deletes it, so NO IDR ever reaches a client, even the
               first one, which has to start at a recovery point.
  /ts/WxH      the /cam H.264 inside MPEG-TS over RTP: mpegtsmux !
               rtpmp2tpay pt=33; the SDP says "MP2T/90000" and the video
               stream is known only once PAT/PMT in the TS are parsed.
  /natport/WxH the /cam stream, but for RTP over UDP the SETUP reply
               advertises server_port= 100 above the ports the RTP and RTCP
               really come from (as a camera behind NAT or with some
               firmware does); a client that accepts RTP only from the
               advertised port gets nothing.  TCP interleaved: as /cam.
  /udponly/WxH the /cam stream, RTP over UDP only: a SETUP asking for TCP
               interleaved gets "461 Unsupported Transport".
  /cam709/WxH  the /cam stream with the BT.709 matrix (colorimetry=bt709,
               signalled in the VUI, as HD cameras send it): a still encoded
               with the BT.601 matrix shows the bars off by 20 and more.
  /huge/WxH    a hostile camera: the /cam stream with every SPS rewritten to
               announce 16240x16240 (about 1 GB of decoder memory) while the
               slices stay WxH.  A client must refuse it from the SPS, before
               allocating.
Any other path: RTSP 404.

RTP and RTCP over UDP use server ports UDP_PORT_MIN..UDP_PORT_MAX bound
to 127.0.0.1 (an RTSPAddressPool; gst-rtsp-server would otherwise bind the
wildcard address).

Camera emulation (keyframes and late joiners).  Like a real camera, each
path has ONE encoder that runs continuously from the first request for that
path until the server stops ("warm", the default).  Every client gets its
own RTSP media (appsrc -> payloader) fed from that encoder, with the cached
parameter sets (SPS/PPS, VPS) sent first.  So:
  - the first client of a path gets an IDR at once (the encoder starts;
    on /intra it gets the pictures after the deleted IDR instead);
  - every later client joins mid-GOP and has to wait for the next IDR, up
    to gop-seconds, exactly as with a camera that is already streaming.
A plain shared RTSPMedia cannot do this: the Range of the client's PLAY
makes gst-rtsp-server do a flushing seek, which restarts x264enc with a
fresh IDR for every client.  --no-warm gives each client its own encoder
instead (every client then starts with an IDR, as with shared=False).

--drop-every N makes every media drop each Nth RTP packet after the
payloader (deterministic loss, all paths, TCP and UDP alike), to test that
a client never returns a picture damaged by packet loss.

Picture: videotestsrc pattern=smpte, I420, BT.601 at every size, limited
range for H.264/H.265 (signalled in the VUI), full range for MJPEG.  The top
two thirds are seven vertical 100% colour bars; the bottom right corner is
moving noise (so P frames are not empty and a still decoded without its
reference would be visibly smeared).  How a checker tells a clean still
from a grey or smeared one: take the mean colour of the seven bars,
  band i (i = 0..6): x from (i + 0.25) * W/7 to (i + 0.75) * W/7,
                     y from 0.10 * H to 0.55 * H
and compare it, after converting to full-range RGB, with
      0 white   (255, 255, 255)      4 magenta (255,   0, 255)
      1 yellow  (255, 255,   0)      5 red     (255,   0,   0)
      2 cyan    (  0, 255, 255)      6 blue    (  0,   0, 255)
      3 green   (  0, 255,   0)
within about 24 per channel (codec and chroma subsampling blur the bar
edges, not their centres).  In limited-range Y'CbCr the bars are
Y = 235 210 170 145 106 81 41.  A grey picture (all about 128) or a
smeared one fails several bands at once.  Measured on a decoded 640x360
still: every band within 1 of the values above.
"""

import argparse
import re
import signal
import sys
import threading
import warnings

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gio, GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402



class Kind:
    """What one /KIND/ path serves (see the module docstring)."""

    def __init__(self, codec="h264", slices=0, intra_refresh=False, strip_idr=False,
                 keyint=None, config_interval=0, mux="rtp", udp_only=False,
                 fake_server_port=0, colorimetry="bt601", announce=None):
        self.codec, self.slices, self.intra_refresh = codec, slices, intra_refresh
        self.strip_idr, self.keyint, self.config_interval = strip_idr, keyint, config_interval
        self.mux, self.udp_only, self.fake_server_port = mux, udp_only, fake_server_port
        self.colorimetry, self.announce = colorimetry, announce


KIND = {
    "cam": Kind(),
    "h265": Kind(codec="h265", config_interval=-1),
    "mjpeg": Kind(codec="jpeg"),
    "auth": Kind(),
    "basic": Kind(),
    "nokey": Kind(strip_idr=True, keyint=1 << 30),
    "sliced2": Kind(slices=2, config_interval=-1),
    "sliced4": Kind(slices=4, config_interval=-1),
    "hevcsliced2": Kind(codec="h265", slices=2, config_interval=-1),
    "hevcsliced4": Kind(codec="h265", slices=4, config_interval=-1),
    "intra": Kind(intra_refresh=True, strip_idr=True),
    "ts": Kind(mux="ts"),
    "natport": Kind(fake_server_port=100),
    "udponly": Kind(udp_only=True),
    "cam709": Kind(colorimetry="bt709"),
    "huge": Kind(announce=(16240, 16240)),
}
KINDS = tuple(KIND)
PATH_RE = re.compile(r"^/(%s)/([0-9]{2,4})x([0-9]{2,4})(?=/|$)" % "|".join(KINDS))
MIN_DIM, MAX_DIM = 16, 8192
# Server-side UDP ports (RTP even, RTCP odd), below Linux's ephemeral range;
# a port another process holds is skipped.
UDP_PORT_MIN, UDP_PORT_MAX = 20000, 31999
USERS = (("camuser", "campass"), ("cam user", "p@ss:w/rd 100%"))
ROLE = "user"
NAL_START = re.compile(b"\x00\x00\x01")
H264_IDR, H264_PARAMS = (5,), (7, 8)
H265_PARAMS = (32, 33, 34)


def log(msg):
    print("rtsp_server: " + msg, file=sys.stderr, flush=True)


def codec_of(kind):
    return KIND[kind].codec


def encoder_launch(kind, w, h, fps, gop):
    k = KIND[kind]
    keyint = k.keyint or max(1, int(round(fps * gop)))
    codec = k.codec
    # BT.601 at every size (GStreamer would pick BT.709 for HD); converted to
    # full range for JPEG, whose decoders assume full range.
    size = "width=%d,height=%d,framerate=%d/1" % (w, h, fps)
    if codec == "jpeg":
        src = ("videotestsrc is-live=true pattern=smpte ! video/x-raw,format=RGB,%s ! "
               "videoconvert ! video/x-raw,format=I420,colorimetry=1:4:0:0" % size)
    else:
        src = ("videotestsrc is-live=true pattern=smpte ! "
               "video/x-raw,format=I420,%s,colorimetry=%s" % (size, k.colorimetry))
    sink = "appsink name=sink emit-signals=true sync=false max-buffers=8 drop=true"
    # N slices per picture: x264 with one thread writing N slices, whatever
    # the number of cores (sliced threads would make one slice per thread).
    # x265 is made to use closed GOPs (IDR, not CRA, at each keyframe), as
    # cameras do, so that rtph265pay config-interval=-1 (which acts on IDR
    # slices only) puts VPS/SPS/PPS before every keyframe.
    if k.slices and codec == "h264":
        extra = " threads=1 option-string=slices=%d" % k.slices
    elif k.slices:
        extra = " option-string=slices=%d:open-gop=0" % k.slices
    else:
        extra = ""
    if k.intra_refresh:
        extra += " intra-refresh=true"
    if codec == "h264":
        enc = ("x264enc tune=zerolatency speed-preset=ultrafast bframes=0 pass=qual "
               "quantizer=23 key-int-max=%d%s ! "
               "video/x-h264,stream-format=byte-stream,alignment=au" % (keyint, extra))
    elif codec == "h265":
        enc = ("x265enc tune=zerolatency speed-preset=ultrafast key-int-max=%d%s ! "
               "video/x-h265,stream-format=byte-stream,alignment=au" % (keyint, extra))
    else:
        enc = "jpegenc quality=85"
    return "%s ! %s ! %s" % (src, enc, sink)


def media_launch(kind, w, h, fps):
    k = KIND[kind]
    codec = k.codec
    caps = {"h264": "video/x-h264,stream-format=byte-stream,alignment=au",
            "h265": "video/x-h265,stream-format=byte-stream,alignment=au",
            "jpeg": "image/jpeg"}[codec]
    pay = {"h264": "rtph264pay name=pay0 pt=96 config-interval=%d" % k.config_interval,
           "h265": "rtph265pay name=pay0 pt=96 config-interval=%d" % k.config_interval,
           "jpeg": "rtpjpegpay name=pay0 pt=26"}[codec]
    if k.mux == "ts":
        pay = "mpegtsmux ! rtpmp2tpay name=pay0 pt=33"
    return ("( appsrc name=src is-live=true do-timestamp=true format=time "
            "max-buffers=16 leaky-type=downstream "
            "caps=%s,width=%d,height=%d,framerate=%d/1 ! %s )" % (caps, w, h, fps, pay))


def split_nals(data):
    """Yields (nal_type_byte_offset, start, end) for each Annex B NAL unit."""
    starts = [m.start() for m in NAL_START.finditer(data)]
    for i, s in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        if s + 3 < len(data):
            yield s + 3, s, end


def nal_type(codec, data, off):
    return (data[off] & 0x1F) if codec == "h264" else ((data[off] >> 1) & 0x3F)


class Bits:
    """Reads an RBSP (emulation prevention bytes already removed)."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def u(self, n):
        v = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3] if (self.pos >> 3) < len(self.data) else 0
            v = (v << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v

    def ue(self):
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self):
        v = self.ue()
        return (v + 1) // 2 if v & 1 else -(v // 2)


class BitWriter:
    def __init__(self):
        self.bits = []

    def u(self, n, v):
        self.bits += [(v >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, v):
        v += 1
        n = v.bit_length()
        self.u(n - 1, 0)
        self.u(n, v)

    def data(self):
        bits = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


def unescape(nal):
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def escape(rbsp):
    out, zeros = bytearray(), 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def sps_announcing(nal, width, height):
    """An H.264 SPS NAL (header byte first) rewritten to say width x height
    (in macroblocks, no cropping); every other field kept bit for bit."""
    rbsp = unescape(nal[1:])
    r, w = Bits(rbsp), BitWriter()

    def copy_u(n):
        w.u(n, r.u(n))

    def copy_ue():
        w.ue(r.ue())

    profile = r.u(8)
    w.u(8, profile)
    copy_u(16)                      # constraint flags, level_idc
    copy_ue()                       # seq_parameter_set_id
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        cf = r.ue()
        w.ue(cf)
        if cf == 3:
            copy_u(1)
        copy_ue()
        copy_ue()
        copy_u(1)
        if r.u(1):
            raise ValueError("SPS with scaling matrices: not rewritten")
        w.u(1, 0)
    copy_ue()                       # log2_max_frame_num_minus4
    poc = r.ue()
    w.ue(poc)
    if poc == 0:
        copy_ue()
    elif poc == 1:
        raise ValueError("pic_order_cnt_type 1: not rewritten")
    copy_ue()                       # max_num_ref_frames
    copy_u(1)                       # gaps_in_frame_num_value_allowed_flag
    r.ue()
    r.ue()
    w.ue(width // 16 - 1)
    w.ue(height // 16 - 1)
    frame_mbs_only = r.u(1)
    w.u(1, frame_mbs_only)
    if not frame_mbs_only:
        copy_u(1)
    copy_u(1)                       # direct_8x8_inference_flag
    if r.u(1):                      # frame_cropping_flag: dropped
        for _ in range(4):
            r.ue()
    w.u(1, 0)
    while r.pos < len(rbsp) * 8:    # VUI and the stop bit, as they were
        w.u(1, r.u(1))
    return nal[:1] + escape(w.data())


class Encoder:
    """One always-running encoder pipeline; fans its access units out to the
    appsrc of every subscribed client media."""

    def __init__(self, kind, w, h, args):
        self.kind, self.codec = kind, codec_of(kind)
        self.strip_idr = KIND[kind].strip_idr
        self.announce = KIND[kind].announce
        self.lock = threading.Lock()
        self.subscribers = {}          # appsrc -> needs parameter sets first
        self.params = {}               # NAL type -> bytes, latest parameter sets
        self.pipeline = Gst.parse_launch(encoder_launch(kind, w, h, args.fps,
                                                        args.gop_seconds))
        self.pipeline.get_by_name("sink").connect("new-sample", self._on_sample)

    def start(self):
        self.pipeline.set_state(Gst.State.PLAYING)

    def stop(self):
        self.pipeline.set_state(Gst.State.NULL)

    def subscribe(self, appsrc):
        with self.lock:
            self.subscribers[appsrc] = True

    def unsubscribe(self, appsrc):
        with self.lock:
            self.subscribers.pop(appsrc, None)

    def _filter(self, data):
        """Caches parameter sets; for /nokey and /intra drops the IDR slices."""
        if self.codec == "jpeg":
            return data
        kept = bytearray()
        wanted = H264_PARAMS if self.codec == "h264" else H265_PARAMS
        for off, s, e in split_nals(data):
            t = nal_type(self.codec, data, off)
            if t in wanted:
                self.params[t] = data[s:e]
            if self.strip_idr and t in H264_IDR:
                continue
            if self.announce and self.codec == "h264" and t == 7:
                start = data[s:off]
                fake = start + sps_announcing(data[off:e], *self.announce)
                self.params[t] = fake
                kept += fake
                continue
            kept += data[s:e]
        return bytes(kept)

    def _on_sample(self, appsink):
        sample = appsink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.EOS
        buf = sample.get_buffer()
        data = self._filter(buf.extract_dup(0, buf.get_size()))
        with self.lock:
            params = b"".join(self.params[k] for k in sorted(self.params))
            targets = list(self.subscribers.items())
            for src, _ in targets:
                self.subscribers[src] = False
        delta = self._is_delta(data)
        for src, needs_params in targets:
            payload = params + data if needs_params and params else data
            if not payload:
                continue
            out = Gst.Buffer.new_wrapped(payload)
            if delta:
                out.set_flags(Gst.BufferFlags.DELTA_UNIT)
            src.emit("push-buffer", out)
        return Gst.FlowReturn.OK

    def _is_delta(self, data):
        if self.codec == "jpeg":
            return False
        irap = H264_IDR if self.codec == "h264" else (19, 20, 21)
        return not any(nal_type(self.codec, data, off) in irap for off, _, _ in split_nals(data))


def add_dropper(payloader, every):
    """Drops each `every`th RTP packet leaving the payloader.

    Payloaders push buffer lists (one per frame or fragmented NAL); a list
    that loses a packet is pushed again, from the probe, without it.
    """
    state = {"count": 0, "repush": False}

    def probe(pad, info):
        if state["repush"]:
            return Gst.PadProbeReturn.OK
        if info.type & Gst.PadProbeType.BUFFER:
            state["count"] += 1
            return Gst.PadProbeReturn.DROP if state["count"] % every == 0 else \
                Gst.PadProbeReturn.OK
        packets = info.get_buffer_list()
        kept = Gst.BufferList.new()
        for i in range(packets.length()):
            state["count"] += 1
            if state["count"] % every != 0:
                kept.insert(-1, packets.get(i))
        if kept.length() == packets.length():
            return Gst.PadProbeReturn.OK
        state["repush"] = True
        try:
            pad.push_list(kept)
        finally:
            state["repush"] = False
        return Gst.PadProbeReturn.DROP

    payloader.get_static_pad("src").add_probe(
        Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, probe)


class Camera:
    """The factory of one path plus its encoder(s)."""

    def __init__(self, kind, w, h, args):
        self.kind, self.w, self.h, self.args = kind, w, h, args
        self.shared = Encoder(kind, w, h, args) if args.warm else None
        if self.shared:
            self.shared.start()
        self.factory = GstRtspServer.RTSPMediaFactory()
        self.factory.set_launch(media_launch(kind, w, h, args.fps))
        self.factory.set_shared(False)
        self.factory.set_address_pool(args.udp_pool)
        self.factory.connect("media-configure", self._on_media)
        if KIND[kind].udp_only:
            self.factory.set_protocols(GstRtsp.RTSPLowerTrans.UDP)
        if kind in ("auth", "basic"):
            perms = GstRtspServer.RTSPPermissions()
            for perm in (GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS,
                         GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT):
                perms.add_permission_for_role(ROLE, perm, True)
            self.factory.set_permissions(perms)

    def _on_media(self, _factory, media):
        appsrc = media.get_element().get_by_name("src")
        if self.args.drop_every > 0:
            add_dropper(media.get_element().get_by_name("pay0"), self.args.drop_every)
        enc = self.shared
        if enc is None:
            enc = Encoder(self.kind, self.w, self.h, self.args)
            enc.start()
        enc.subscribe(appsrc)
        shift = KIND[self.kind].fake_server_port
        if shift:
            with NAT_LOCK:
                NAT_MEDIAS[media] = shift

        def gone(_media):
            enc.unsubscribe(appsrc)
            if shift:
                with NAT_LOCK:
                    NAT_MEDIAS.pop(media, None)
            if enc is not self.shared:
                enc.stop()

        media.connect("unprepared", gone)

    def stop(self):
        if self.shared:
            self.shared.stop()


# /natport: media -> how much to add to the advertised server ports.
NAT_LOCK = threading.Lock()
NAT_MEDIAS = {}
SERVER_PORT_RE = re.compile(r"(?<=server_port=)([0-9]+)(?:-([0-9]+))?")


def on_send_message(client, _ctx, msg):
    """RTSPClient "send-message": rewrites the Transport header of a SETUP
    reply for a /natport media, so that the advertised server_port is not
    the port the RTP and RTCP really come from (as a camera behind NAT does).

    The context argument of this signal does not reach Python (its GType is
    a plain pointer), so the media is found from the reply's Session header.
    Replies without "server_port=" (TCP interleaved) are left alone.
    """
    try:
        res, transport = msg.get_header(GstRtsp.RTSPHeaderField.TRANSPORT, 0)
        if res != GstRtsp.RTSPResult.OK or "server_port=" not in transport:
            return
        res, session_id = msg.get_header(GstRtsp.RTSPHeaderField.SESSION, 0)
        if res != GstRtsp.RTSPResult.OK:
            return
        session = client.get_session_pool().find(session_id.split(";")[0].strip())
        if session is None:
            return
        with NAT_LOCK:
            shifts = [NAT_MEDIAS.get(sm.get_media()) for sm in session.filter(None)]
        shift = next((x for x in shifts if x), 0)
        if not shift:
            return
        fake = SERVER_PORT_RE.sub(
            lambda m: "-".join(str(int(g) + shift) for g in m.groups() if g), transport)
        msg.remove_header(GstRtsp.RTSPHeaderField.TRANSPORT, -1)
        msg.add_header(GstRtsp.RTSPHeaderField.TRANSPORT, fake)
        log("natport: SETUP reply Transport %s (really %s)" % (fake, transport))
    except Exception as e:  # never let a test peer die in a signal handler
        log("natport: cannot rewrite the SETUP reply: %r" % (e,))


class LazyMounts(GstRtspServer.RTSPMountPoints):
    """Mount points that create /kind/WxH factories on first use.

    make_path() runs for every request URL before the mount lookup, so each
    exact path gets its own factory (a prefix mount such as "/cam" would
    break SETUP of "/cam/WxH/stream=0" in gst-rtsp-server).
    """

    def __init__(self, args):
        super().__init__()
        self.args = args
        self.lock = threading.Lock()
        self.cameras = {}

    def do_make_path(self, url):
        m = PATH_RE.match(url.abspath or "")
        if m:
            w, h = int(m.group(2)), int(m.group(3))
            if MIN_DIM <= w <= MAX_DIM and MIN_DIM <= h <= MAX_DIM:
                self._ensure(m.group(0), m.group(1), w, h)
        return GstRtspServer.RTSPMountPoints.do_make_path(self, url)

    def _ensure(self, path, kind, w, h):
        with self.lock:
            if path in self.cameras:
                return
            cam = Camera(kind, w, h, self.args)
            self.cameras[path] = cam
        self.add_factory(path, cam.factory)
        log("mounted %s" % path)

    def stop(self):
        with self.lock:
            cams = list(self.cameras.values())
        for cam in cams:
            cam.stop()


class PathAuth(GstRtspServer.RTSPAuth):
    """Server-wide auth object that protects only /auth/* and /basic/*."""

    def __init__(self):
        super().__init__()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
        self.digest = GstRtspServer.RTSPAuth()
        self.digest.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        self.basic = GstRtspServer.RTSPAuth()
        self.basic.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        for user, password in USERS:
            self.digest.add_digest(user, password, token)
            self.basic.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)

    def do_check(self, ctx, check):
        path = ctx.uri.abspath if ctx.uri is not None else ""
        m = PATH_RE.match(path or "")
        kind = m.group(1) if m else None
        if check.startswith("auth.check.media.factory.") and kind in ("auth", "basic"):
            inner = self.digest if kind == "auth" else self.basic
            return GstRtspServer.RTSPAuth.do_check(inner, ctx, check)
        # A new connection: the default check is what starts TLS (rtsps://)
        # when this auth object has a certificate, and accepts otherwise.
        if check == GstRtspServer.RTSP_AUTH_CHECK_CONNECT:
            return GstRtspServer.RTSPAuth.do_check(self, ctx, check)
        # Everything else: the answers of a server without an auth object.
        return check != GstRtspServer.RTSP_AUTH_CHECK_TRANSPORT_CLIENT_SETTINGS


def parse_args(argv):
    p = argparse.ArgumentParser(description="camsnap RTSP test server (127.0.0.1 only)")
    p.add_argument("--port", type=int, required=True, help="TCP port, 0 = pick a free one")
    p.add_argument("--gop-seconds", type=float, default=2.0, help="keyframe interval")
    p.add_argument("--fps", type=int, default=10)
    p.add_argument("--no-warm", dest="warm", action="store_false", default=True,
                   help="one encoder per client (every client starts with an IDR)")
    p.add_argument("--drop-every", type=int, default=0, metavar="N",
                   help="drop every Nth RTP packet (loss test; 0 = off)")
    p.add_argument("--tls-cert", help="PEM certificate (chain): serve rtsps://")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if not 0 <= args.port <= 65535 or not 1 <= args.fps <= 60 or \
            not 0 < args.gop_seconds <= 60 or args.drop_every < 0:
        p.error("--port 0..65535, --fps 1..60, --gop-seconds (0, 60], --drop-every >= 0")
    return args


def main(argv):
    args = parse_args(argv)
    # PyGObject cannot pass the GstRTSPContext argument of "send-message"
    # (a pointer GType) and says so once per process; on_send_message does
    # not use it.
    warnings.filterwarnings("ignore", message=r"g_value_get_object: assertion")
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    server.set_backlog(64)  # an 8-camera round connects at once
    # RTP/RTCP over UDP: server sockets on 127.0.0.1 only (without a pool
    # gst-rtsp-server binds them to the wildcard address).
    args.udp_pool = GstRtspServer.RTSPAddressPool()
    args.udp_pool.add_range("127.0.0.1", "127.0.0.1", UDP_PORT_MIN, UDP_PORT_MAX, 0)
    mounts = LazyMounts(args)
    server.set_mount_points(mounts)
    auth = PathAuth()
    if args.tls_cert:
        auth.set_tls_certificate(Gio.TlsCertificate.new_from_files(args.tls_cert, args.tls_key))
    server.set_auth(auth)
    server.connect("client-connected",
                   lambda _server, client: client.connect("send-message", on_send_message))
    if server.attach(None) == 0:
        log("cannot listen on 127.0.0.1:%d" % args.port)
        return 2
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, lambda: loop.quit() or False)
    print("READY %d" % server.get_bound_port(), flush=True)
    loop.run()
    log("stopping")
    mounts.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
