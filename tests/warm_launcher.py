# Copyright (c) mlcl_plugin authors. All rights reserved.
"""A drop-in for ``subprocess.run`` that starts ``tools/train.py`` / ``tools/test.py`` from a
warm interpreter (tests only).

Why: the suite runs the stock tools for every tiny config run and every benchmark unit it
tests, and every fresh interpreter spends seconds of CPU importing torch, mmengine, mmpretrain
and the plugin before it reads its config.

How: per distinct environment, one server process (a "zygote") is started with exactly that
environment, imports what ``tools/train.py`` and the stock script import anyway, and then
forks one child per run. The child redirects its stdin / stdout / stderr, changes directory,
sets ``sys.argv`` and runs the script with ``runpy`` as ``__main__``, as ``python SCRIPT ARGS``
does; so the tool runs the same code on the same environment, only its imports are already
done. The server never runs a torch operation and checks it is single-threaded before it
forks (a fork of a process whose thread pool is running can hang in the child, which is why
the test process itself is never forked).

Only ``[sys.executable, <repo>/tools/train.py | tools/test.py, ...]`` with output captured or
sent to a named file is served warm; anything else, a busy server (runs from several threads)
or ``MLCL_TESTS_COLD_TOOLS=1`` in the environment goes to ``subprocess.run`` unchanged.
"""
import atexit
import json
import os
import os.path as osp
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
WARM_SCRIPTS = tuple(osp.join(REPO_ROOT, 'tools', name) for name in ('train.py', 'test.py'))
COLD_ENV = 'MLCL_TESTS_COLD_TOOLS'
MAX_SERVERS = 3
_SIMPLE_KWARGS = {'cwd', 'env', 'stdout', 'stderr', 'capture_output', 'text', 'timeout',
                  'check'}


# --------------------------------------------------------------------------------------------
# server side (runs as ``python tests/warm_launcher.py --serve``)


def _serve():
    """Import, report ready, then fork one child per request read from stdin."""
    reply = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(2, 1)  # what the imports print goes to the server's stderr, not to the replies
    sys.path.insert(0, REPO_ROOT)
    # what tools/train.py imports before the stock script, and what that script and
    # mmpretrain's register_all_modules import before they read the config
    import mmengine.runner  # noqa: F401
    import mmpretrain.datasets
    import mmpretrain.engine
    import mmpretrain.evaluation
    import mmpretrain.models
    import mmpretrain.utils  # noqa: F401

    import mlcl_plugin
    import mlcl_plugin.utils  # noqa: F401
    _remember_config_formatting()
    threads = len(os.listdir('/proc/self/task'))
    if threads != 1:
        reply.write(json.dumps({'error': f'{threads} threads after the imports: not forking'}) +
                    '\n')
        return
    reply.write(json.dumps({'ready': True}) + '\n')
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            reply.close()
            _child(request)  # never returns
        reply.write(json.dumps({'pid': pid}) + '\n')
        _, status = os.waitpid(pid, 0)
        reply.write(json.dumps({'returncode': os.waitstatus_to_exitcode(status)}) + '\n')


def _remember_config_formatting():
    """Format each distinct config text with yapf once per run.

    Why: mmengine formats the whole config with yapf each time it logs it, dumps it or embeds
    it in a checkpoint's meta: seven times in a tiny run, always the same text, about a fifth of
    the run's seconds after the imports. The child keeps what yapf returned for each text it
    formatted; the text it writes is what yapf gives, so the run's files and logs are unchanged.
    """
    import mmengine.config.config as config_module

    format_code = config_module.FormatCode
    formatted = {}

    def remembered(source, style_config=None, **kwargs):
        key = (source, repr(style_config), repr(sorted(kwargs.items())))
        if key not in formatted:
            formatted[key] = format_code(source, style_config=style_config, **kwargs)
        return formatted[key]

    config_module.FormatCode = remembered


def _child(request):
    import runpy
    import traceback

    code = 1
    try:
        os.setpgid(0, 0)  # the client kills the whole group on a timeout
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        out = os.open(request['stdout'], flags, 0o644)
        err = out if request['stderr'] == request['stdout'] else os.open(
            request['stderr'], flags, 0o644)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.chdir(request['cwd'])
        script = request['argv'][0]
        sys.argv = list(request['argv'])
        sys.path[0] = osp.dirname(osp.abspath(script))
        code = 0
        runpy.run_path(script, run_name='__main__')
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: B036 - the child reports everything and exits
        traceback.print_exc()
        code = 1
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# --------------------------------------------------------------------------------------------
# client side


class _Server:
    """One warm server for one environment; serves one run at a time."""

    def __init__(self, env):
        self.lock = threading.Lock()
        self.log = tempfile.NamedTemporaryFile(prefix='warm_launcher_', suffix='.log',
                                               delete=False)
        self.proc = subprocess.Popen([sys.executable, osp.abspath(__file__), '--serve'],
                                     cwd=REPO_ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     bufsize=1)
        self.ready = None  # decided by the first reply

    def _read(self, timeout=None):
        if timeout is not None:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if not ready:
                return None
        line = self.proc.stdout.readline()
        if not line:
            raise EOFError('the warm server exited')
        return json.loads(line)

    def usable(self):
        if self.ready is None:
            try:
                reply = self._read(timeout=300) or {}
            except (EOFError, ValueError):
                reply = {}
            self.ready = bool(reply.get('ready'))
        return self.ready and self.proc.poll() is None

    def run(self, argv, cwd, stdout, stderr, timeout):
        """Returns the exit code, or raises TimeoutExpired after killing the run."""
        self.proc.stdin.write(json.dumps({'argv': argv, 'cwd': cwd, 'stdout': stdout,
                                          'stderr': stderr}) + '\n')
        self.proc.stdin.flush()
        pid = self._read(timeout=300)['pid']
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            reply = self._read(timeout=left)
            if reply is not None:
                return reply['returncode']
            for kill in (os.killpg, os.kill):  # the group, and the child should it not
                try:                             # have made its group yet
                    kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self._read()  # the server reaps it and answers
            raise subprocess.TimeoutExpired(argv, timeout)

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        try:
            os.remove(self.log.name)
        except OSError:
            pass


_servers = {}
_servers_lock = threading.Lock()


@atexit.register
def _close_all():
    for server in list(_servers.values()):
        server.close()
    _servers.clear()


def _server_for(env):
    key = tuple(sorted(env.items()))
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            if len(_servers) >= MAX_SERVERS:
                oldest = next(iter(_servers))
                _servers.pop(oldest).close()
            server = _servers[key] = _Server(env)
        return server


def _output_path(target, capture, suffix):
    """A path the child can append to, or None when only a real subprocess can do it."""
    if capture:
        fd, path = tempfile.mkstemp(prefix='warm_run_', suffix=suffix)
        os.close(fd)
        return path
    name = getattr(target, 'name', None)
    if isinstance(name, str) and osp.isfile(name) and getattr(target, 'mode', '') in (
            'a', 'ab', 'a+'):
        target.flush()
        return name
    return None


def run(cmd, **kwargs):
    """``subprocess.run(cmd, **kwargs)``, served warm where it can be (see the module doc)."""
    cmd = [str(c) for c in cmd]
    env = kwargs.get('env')
    env = dict(os.environ if env is None else env)
    cwd = str(kwargs.get('cwd') or os.getcwd())
    script = osp.abspath(osp.join(cwd, cmd[1])) if len(cmd) > 1 else None
    if (os.environ.get(COLD_ENV) == '1' or env.get(COLD_ENV) == '1'
            or set(kwargs) - _SIMPLE_KWARGS or cmd[0] != sys.executable
            or script not in WARM_SCRIPTS):
        return subprocess.run(cmd, **kwargs)
    capture = kwargs.get('capture_output', False)
    if capture and (kwargs.get('stdout') is not None or kwargs.get('stderr') is not None):
        return subprocess.run(cmd, **kwargs)
    out_path = _output_path(kwargs.get('stdout'), capture, '.out')
    if kwargs.get('stderr') == subprocess.STDOUT:
        err_path = out_path
    else:
        err_path = _output_path(kwargs.get('stderr'), capture, '.err')
    if out_path is None or err_path is None:
        return subprocess.run(cmd, **kwargs)
    server = _server_for(env)
    if not server.lock.acquire(blocking=False):
        return subprocess.run(cmd, **kwargs)  # another thread's run is in the server
    stdout = stderr = None
    try:
        if not server.usable():
            return subprocess.run(cmd, **kwargs)
        returncode = server.run([script] + cmd[2:], cwd, out_path, err_path,
                                kwargs.get('timeout'))
        if capture:
            mode = 'r' if kwargs.get('text') else 'rb'
            with open(out_path, mode) as f:
                stdout = f.read()
            with open(err_path, mode) as f:
                stderr = f.read()
    finally:
        server.lock.release()
        if capture:
            for path in {out_path, err_path}:
                os.remove(path)
    proc = subprocess.CompletedProcess(cmd, returncode, stdout, stderr)
    if kwargs.get('check'):
        proc.check_returncode()
    return proc


class SubprocessProxy:
    """Stands in for the ``subprocess`` module inside a tool module under test: ``run`` is
    :func:`run`, everything else is ``subprocess``'s own (looked up at each use)."""

    def __getattr__(self, name):
        if name == 'run':
            return run
        return getattr(subprocess, name)


if __name__ == '__main__' and sys.argv[1:] == ['--serve']:
    _serve()
