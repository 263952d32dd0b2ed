"""Music on hold as FreeSWITCH 1.10.12 plays it: mod_local_stream's streams, and what a
held call's partner hears and reports.

``uuid_hold <uuid>`` holds that leg and has its partner play the hold music
(``switch_ivr_hold``: ``temp_hold_music``, else ``hold_music`` of the held leg, else the
global variable from vars.xml), looped. When the music opens, the partner fires
PLAYBACK_START with ``Playback-File-Type`` (``local_stream`` / ``tone_stream``; none for
a plain file) and ``Playback-File-Path`` (the music's URL, e.g.
``local_stream://moh``); ``uuid_hold off`` stops it with PLAYBACK_STOP,
``Playback-Status: break``. When the music cannot open there is no PLAYBACK_START: the
caller hears silence. That event is what tells the product music is really playing.

mod_local_stream (``local_stream.conf.xml``): each ``<directory name path>`` is a
stream looping the regular files of its folder. ``local_stream://NAME`` at rate R
resolves to the stream ``NAME/R``, else ``NAME``, else ``default`` (logging
``Unknown source NAME, trying 'default'``), else fails with ``Unknown source default``.
A folder that cannot be opened drops its stream at start (``Can't open directory``); an
empty one keeps a silent stream. The real switch retries a failed hold music at once,
logging both lines thousands of times a minute; the simulator logs them once per hold.

``sndfile_debug on`` makes the log name each file as it is opened, as mod_sndfile does
(``Opening File [<path>] rate [8000hz] channels: [1]``), and ``local_stream show
[NAME]`` answers as mod_local_stream's API does: this is how a test (or an administrator
on a real switch) sees *which file* plays.
"""

from __future__ import annotations

import pathlib
import wave
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from esl_controller.simulator.conf.xmlconf import load_config_file
from esl_controller.simulator.sim_event import SimEvent

if TYPE_CHECKING:
    from esl_controller.simulator.api_registry import ApiRegistry
    from esl_controller.simulator.channels.channel import Channel
    from esl_controller.simulator.channels.engine import ChannelEngine

# level, text, file, function, line (the simulator's log/data frames)
LogFn = Callable[[int, str, str, str, int], None]
PLAYBACK_START = ("switch_ivr_play_say.c", "switch_ivr_play_file", 1658)
PLAYBACK_STOP = ("switch_ivr_play_say.c", "switch_ivr_play_file", 2037)
RATES = (8000, 12000, 16000, 24000, 32000, 48000)  # what mod_local_stream accepts
SYNTAX = "<show|start|reload|stop|hup> <local_stream_name>"


def _no_log(level: int, text: str, file: str, func: str, line: int) -> None:
    return None


@dataclass
class Stream:
    """One ``<directory>`` of local_stream.conf whose folder could be opened."""

    name: str
    location: str
    rate: int = 8000
    channels: int = 1
    interval: int = 20
    shuffle: bool = False
    timer: str = "soft"

    def files(self) -> list[pathlib.Path]:
        """The regular files the stream loops (every one: mod_local_stream tries to play
        a README as readily as a wav), read again each pass as it does."""
        folder = pathlib.Path(self.location)
        try:
            return sorted(p for p in folder.iterdir() if p.is_file())
        except OSError:
            return []

    def show(self) -> str:
        return (
            f"{self.name}\n  location: {self.location}\n  channels: {self.channels}\n"
            f"  rate:     {self.rate}\n  interval: {self.interval}\n"
            f"  samples:  {self.rate * self.interval // 1000}\n  prebuf:   65536\n"
            f"  timer:    {self.timer}\n  total:    0\n"
            f"  shuffle:  {'true' if self.shuffle else 'false'}\n  ready:    true\n"
            f"  stopped:  false\n  reloading: false\n"
        )


class LocalStreams:
    """mod_local_stream's table of running streams, from ``local_stream.conf.xml``."""

    def __init__(self, streams: dict[str, Stream] | None = None) -> None:
        self.streams = streams or {}
        self.dropped: dict[str, str] = {}  # name -> folder that could not be opened

    @classmethod
    def load(cls, conf_dir: pathlib.Path | None, variables: dict[str, str]) -> LocalStreams:
        table = cls()
        root = load_config_file(conf_dir, "autoload_configs/local_stream.conf.xml",
                                variables) if conf_dir is not None else None  # fmt: skip
        if root is None:
            return table
        for directory in root.iter("directory"):
            name, path = directory.get("name"), directory.get("path")
            if not name or path is None:
                continue
            stream = Stream(name=name, location=path)
            for param in directory.iter("param"):
                key, value = param.get("name", ""), param.get("value", "")
                if key == "rate" and value.isdigit() and int(value) in RATES:
                    stream.rate = int(value)
                elif key == "channels" and value in ("1", "2"):
                    stream.channels = int(value)
                elif key == "interval" and value.isdigit() and int(value) % 10 == 0:
                    stream.interval = int(value)
                elif key == "shuffle":
                    stream.shuffle = value.lower() in ("true", "yes", "on", "1")
                elif key == "timer-name" and value:
                    stream.timer = value
            if pathlib.Path(path).is_dir():
                table.streams[name] = stream
            else:
                table.dropped[name] = path  # "Can't open directory: <path>" at start
        return table

    def resolve(self, name: str, rate: int, log: LogFn = _no_log) -> Stream | None:
        """``local_stream_file_open``: NAME/rate, NAME, then default."""
        for candidate in (f"{name}/{rate}", name):
            if candidate in self.streams:
                return self.streams[candidate]
        if "default" not in name:
            log(4, f"Unknown source {name}, trying 'default'", "mod_local_stream.c",
                "local_stream_file_open", 875)  # fmt: skip
            found = self.streams.get(f"default/{rate}") or self.streams.get("default")
            if found is not None:
                return found
        log(3, "Unknown source default", "mod_local_stream.c", "local_stream_file_open", 883)
        return None


@dataclass
class Playing:
    url: str
    file_type: str | None
    file: pathlib.Path | None  # what the listener hears now (None: silence)
    held: str = ""  # uuid of the held leg whose partner plays it


class HoldMusic:
    """What the partner of a held leg plays; see the module docstring."""

    def __init__(
        self,
        engine: ChannelEngine,
        streams: LocalStreams,
        global_vars: dict[str, str],
        log: LogFn = _no_log,
    ) -> None:
        self.engine = engine
        self.streams = streams
        self.global_vars = global_vars
        self.log = log
        self.sndfile_debug = False
        self.playing: dict[str, Playing] = {}  # listener uuid -> its music
        engine.on_hangup.append(self._forget)

    def _forget(self, channel: Channel) -> None:
        """A hung-up listener hears nothing more; the partner of a held leg that hangs
        up stops its music (seen on 1.10.12: PLAYBACK_STOP "break" on the partner once
        the bridge is gone, before the partner's own hangup, if it follows)."""
        self.playing.pop(channel.uuid, None)
        for uuid, playing in list(self.playing.items()):
            listener = self.engine.channels.get(uuid)
            if playing.held == channel.uuid and listener is not None and not listener.gone:
                del self.playing[uuid]
                self._fire("PLAYBACK_STOP", listener, playing, PLAYBACK_STOP, status="break")

    def music_for(self, held: Channel) -> str:
        """``switch_channel_get_hold_music`` of the held leg (channel variables fall back
        to the global ones, vars.xml's hold_music)."""
        for name in ("temp_hold_music", "hold_music"):
            value = held.variables.get(name) or (
                self.global_vars.get(name, "") if name == "hold_music" else ""
            )
            if value:
                return value
        return ""

    def start(self, held: Channel) -> Playing | None:
        """``held`` was put on hold: its partner plays the hold music, looped."""
        listener = held.partner
        url = self.music_for(held)
        if listener is None or listener.gone or not url:
            return None
        if url.lower() in ("silence", "indicate_hold"):
            return None
        rate = int(listener.codec[1]) if listener.codec[1].isdigit() else 8000
        playing = self._open(url, rate)
        if playing is None:
            return None
        playing.held = held.uuid
        self.playing[listener.uuid] = playing
        self._fire("PLAYBACK_START", listener, playing, PLAYBACK_START)
        return playing

    def stop(self, held: Channel) -> None:
        """``held`` is off hold: its partner's music stops (the broadcast is broken)."""
        listener = held.partner
        if listener is None:
            return
        playing = self.playing.pop(listener.uuid, None)
        if playing is not None and not listener.gone:
            self._fire("PLAYBACK_STOP", listener, playing, PLAYBACK_STOP, status="break")

    def _open(self, url: str, rate: int) -> Playing | None:
        if url.startswith("local_stream://"):
            name = url[len("local_stream://") :].split("?")[0] or "default"
            stream = self.streams.resolve(name, rate, self.log)
            if stream is None:
                return None
            files = [f for f in stream.files() if _playable(f, self.log)]
            current = files[0] if files else None
            if current is not None and self.sndfile_debug:
                self._log_open(current)
            return Playing(url, "local_stream", current)
        if url.startswith("tone_stream://"):
            return Playing(url, "tone_stream", None)
        path = pathlib.Path(url)
        if path.is_absolute() and _playable(path, self.log):
            if self.sndfile_debug:
                self._log_open(path)
            return Playing(url, None, path)
        self.log(3, f"Can't open {url}", "switch_ivr_play_say.c", "switch_ivr_play_file", 1490)
        return None

    def _log_open(self, path: pathlib.Path) -> None:
        rate, channels = _wav_format(path)
        self.log(7, f"Opening File [{path}] rate [{rate}hz] channels: [{channels}]",
                 "mod_sndfile.c", "sndfile_file_open", 287)  # fmt: skip

    def _fire(self, name: str, listener: Channel, playing: Playing,
              calling: tuple[str, str, int], status: str | None = None) -> None:  # fmt: skip
        headers = listener.headers(name)
        if playing.file_type:
            headers.append(("Playback-File-Type", playing.file_type))
        headers.append(("Playback-File-Path", playing.url))
        if status is not None:
            headers.append(("Playback-Status", status))
        self.engine.fire(SimEvent(name, headers, calling=calling))

    # -- API ---------------------------------------------------------------------------

    def register_api(self, api: ApiRegistry) -> None:
        api.register("local_stream", self._local_stream_api)
        api.register("sndfile_debug", self._sndfile_debug_api)

    def _local_stream_api(self, args: str) -> str:
        words = args.split()
        if not words:
            return f"-USAGE: {SYNTAX}\n"
        if words[0].lower() == "show":
            if len(words) == 1:
                return "".join(f"{s.name},{s.location}\n" for s in self.streams.streams.values())
            stream = self.streams.streams.get(words[1])
            if stream is None:
                return f"-ERR Cannot locate local_stream {words[1]}!\n"
            return stream.show()
        return f"-USAGE: {SYNTAX}\n"

    def _sndfile_debug_api(self, args: str) -> str:
        word = args.strip().lower()
        if word in ("on", "off"):
            self.sndfile_debug = word == "on"
            return f"Sndfile Debug: {word}\n"
        return "-USAGE: <on|off>\n"


def _playable(path: pathlib.Path, log: LogFn) -> bool:
    """A wav mod_sndfile opens; anything else is what mod_local_stream logs and skips."""
    if path.suffix.lower() == ".wav" and _wav_format(path) != (0, 0):
        return True
    log(3, f"Can't open {path}", "mod_local_stream.c", "read_stream_thread", 362)
    return False


def _wav_format(path: pathlib.Path) -> tuple[int, int]:
    try:
        with wave.open(str(path)) as w:
            return w.getframerate(), w.getnchannels()
    except (OSError, EOFError, wave.Error):
        return 0, 0
