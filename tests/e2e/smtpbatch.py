#!/usr/bin/python3
"""smtpbatch.py - send a numbered batch of messages over SMTP, in parallel

usage: smtpbatch.py --server HOST:PORT --prefix ID --count N
                    [--conns C] [--per-conn M] [--source IP]
                    [--mail-from ADDR] [--rcpt ADDR] [--progress FILE]
                    [--deadline SECONDS]

Message k (0 <= k < N) carries "Message-ID: <ID-k@batch.example.net>" so
that a test can count what was delivered. C threads share the numbers;
each sends up to M messages per SMTP connection and then opens a new one.
A 4xx answer, or a connection that breaks, means "send this one again"
(what a real MTA client does), up to 20 times. The progress file gets one
line per accepted message. Exit 0 when all N were accepted; the numbers
never accepted are printed otherwise.
"""
import argparse
import smtplib
import sys
import threading
import time


def message(prefix, k, mail_from, rcpt):
    return (
        "From: Batch Sender <%s>\r\n"
        "To: <%s>\r\n"
        "Subject: %s message %d\r\n"
        "Message-ID: <%s-%d@batch.example.net>\r\n"
        "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
        "\r\n"
        "Message %d of batch %s.\r\n" % (mail_from, rcpt, prefix, k, prefix,
                                        k, k, prefix)
    )


class Batch:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.todo = list(range(args.count))
        self.accepted = set()
        self.tries = {}
        self.progress = open(args.progress, "a") if args.progress else None
        self.deadline = time.time() + args.deadline

    def take(self):
        with self.lock:
            return self.todo.pop(0) if self.todo else None

    def retry(self, k):
        with self.lock:
            self.tries[k] = self.tries.get(k, 0) + 1
            if self.tries[k] < 20:
                self.todo.append(k)

    def done(self, k):
        with self.lock:
            self.accepted.add(k)
            if self.progress:
                self.progress.write("%d\n" % k)
                self.progress.flush()

    def worker(self):
        a = self.args
        host, port = a.server.rsplit(":", 1)
        while time.time() < self.deadline:
            k = self.take()
            if k is None:
                return
            try:
                smtp = smtplib.SMTP(host, int(port), timeout=60,
                                    source_address=(a.source, 0))
                smtp.ehlo("batch.example.net")
            except (OSError, smtplib.SMTPException):
                self.retry(k)
                time.sleep(0.2)
                continue
            sent = 0
            while k is not None:
                try:
                    smtp.sendmail(a.mail_from, [a.rcpt],
                                  message(a.prefix, k, a.mail_from, a.rcpt))
                    self.done(k)
                except smtplib.SMTPResponseException as e:
                    self.retry(k)
                    if e.smtp_code >= 500:
                        print("message %d: %d %s" % (k, e.smtp_code,
                                                     e.smtp_error))
                    break
                except (OSError, smtplib.SMTPException):
                    self.retry(k)
                    break
                sent += 1
                if sent >= a.per_conn or time.time() >= self.deadline:
                    break
                k = self.take()
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--conns", type=int, default=4)
    p.add_argument("--per-conn", type=int, default=10)
    p.add_argument("--source", default="127.0.0.10")
    p.add_argument("--mail-from", default="batch@spfonly.example.com")
    p.add_argument("--rcpt", default="bob@dest.example.org")
    p.add_argument("--progress")
    p.add_argument("--deadline", type=float, default=300)
    args = p.parse_args()
    batch = Batch(args)
    threads = [threading.Thread(target=batch.worker)
               for _ in range(args.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    missing = sorted(set(range(args.count)) - batch.accepted)
    print("accepted %d of %d" % (len(batch.accepted), args.count))
    if missing:
        print("never accepted: %s" % " ".join(map(str, missing)))
        sys.exit(1)


if __name__ == "__main__":
    main()
