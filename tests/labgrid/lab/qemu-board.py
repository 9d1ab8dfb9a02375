#!/usr/bin/env python3
"""A QEMU board on a lab host, wired as a real board is: a serial console
behind a raw TCP port (what ser2net offers for a USB serial adapter) and a
network power switch (the HTTP interface of labgrid's `simplerest` power
model). Both listen on 127.0.0.1 only.

  power:  GET /power/0/1 starts QEMU, GET /power/0/0 stops it,
          GET /power/0 answers 1 or 0
  serial: one client at a time; the board's console bytes go to it, its
          bytes go to the board; the line stays up while the board is off,
          as a serial adapter's does

QEMU runs with `-serial stdio`: its console is this process's pipe, so
nothing but the two ports above listens. The console is also appended to
--log. The process ends by itself after --lifetime seconds, on SIGTERM or
SIGINT, stopping QEMU first.

  qemu-board.py --serial-port 5001 --power-port 5002 --log console.log \\
      -- qemu-system-aarch64 -M virt ...
"""

import argparse
import http.server
import signal
import socket
import subprocess
import sys
import threading

HOST = "127.0.0.1"


class Board:
    def __init__(self, qemu, log):
        self.qemu = qemu
        self.log = open(log, "ab", buffering=0)
        self.child = None
        self.client = None
        self.lock = threading.Lock()

    def powered(self):
        with self.lock:
            return self.child is not None and self.child.poll() is None

    def on(self):
        with self.lock:
            if self.child is not None and self.child.poll() is None:
                return
            self.child = subprocess.Popen(
                self.qemu + ["-display", "none", "-serial", "stdio", "-monitor", "none"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
            threading.Thread(target=self._pump, args=(self.child,), daemon=True).start()

    def off(self):
        with self.lock:
            child, self.child = self.child, None
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def _pump(self, child):
        """The board's console to the log and to the connected client."""
        while True:
            data = child.stdout.read1(4096)
            if not data:
                break
            self.log.write(data)
            client = self.client
            if client is not None:
                try:
                    client.sendall(data)
                except OSError:
                    pass

    def to_board(self, data):
        with self.lock:
            child = self.child
        if child is not None and child.poll() is None:
            try:
                child.stdin.write(data)
                child.stdin.flush()
            except OSError:
                pass


def serve_serial(board, port):
    srv = socket.create_server((HOST, port))
    while True:
        conn, _ = srv.accept()
        old, board.client = board.client, conn
        if old is not None:
            old.close()
        threading.Thread(target=_serial_client, args=(board, conn), daemon=True).start()


def _serial_client(board, conn):
    while True:
        try:
            data = conn.recv(4096)
        except OSError:
            break
        if not data:
            break
        board.to_board(data)
    if board.client is conn:
        board.client = None
    conn.close()


def power_handler(board):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            parts = self.path.strip("/").split("/")
            if len(parts) == 3 and parts[:2] == ["power", "0"] and parts[2] in ("0", "1"):
                board.on() if parts[2] == "1" else board.off()
                body = parts[2]
            elif parts == ["power", "0"]:
                body = "1" if board.powered() else "0"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, fmt, *args):
            pass

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--serial-port", type=int, required=True)
    p.add_argument("--power-port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--lifetime", type=int, default=3600)
    p.add_argument("qemu", nargs=argparse.REMAINDER)
    a = p.parse_args()
    qemu = a.qemu[1:] if a.qemu[:1] == ["--"] else a.qemu
    if not qemu:
        p.error("no QEMU command line after --")
    board = Board(qemu, a.log)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    httpd = http.server.ThreadingHTTPServer((HOST, a.power_port), power_handler(board))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    threading.Thread(target=serve_serial, args=(board, a.serial_port), daemon=True).start()
    print(f"qemu-board: serial {HOST}:{a.serial_port}, power http://{HOST}:{a.power_port}/power/0",
          flush=True)
    done.wait(a.lifetime)
    board.off()
    httpd.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
