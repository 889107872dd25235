# SPDX-License-Identifier: GPL-2.0
"""The command line of tools/slub-kunit: argument parsing and checking, one
function per subcommand over the library (pipeline, validate, mutate,
export, bench), and one place that turns errors into exit codes.
"""

import argparse
import os
import re
import sys
from typing import List, Optional

from slub_kunit import host, pipeline, procs, testplan
from slub_kunit.common import HostError, UsageError, UserError, die
from slub_kunit.inbox import mail, patches
from slub_kunit.kernel.kunit_tool import ARCHES, distcc_slots
from slub_kunit.kernel.source import looks_like_path, package_pattern
from slub_kunit.pipeline import POLICIES, RunRequest
from slub_kunit.status import Exit


def default_cache() -> str:
	env = os.environ.get('SLUB_KUNIT_CACHE')
	if env:
		return os.path.abspath(os.path.expanduser(env))
	base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
	return os.path.abspath(os.path.join(base, 'slub-kunit'))


# --- argument types: every path absolute, every check before any work ------

def abs_path(text: str) -> str:
	return os.path.abspath(os.path.expanduser(text))


def kernel_spec(text: str) -> str:
	"""A version stays a version (checked now); a path becomes absolute."""
	if looks_like_path(text):
		return abs_path(text)
	package_pattern(text)
	return text


def jobs(text: str) -> int:
	try:
		n = int(text)
	except ValueError:
		n = 0
	if n < 1:
		raise argparse.ArgumentTypeError(f'{text}: expected a whole number of at least 1')
	return n


def revision(text: str) -> int:
	n = jobs(text)
	if n > 999:
		raise argparse.ArgumentTypeError(f'{text}: not a revision')
	return n


# --kconfig: one option and a plain value, as kunit.py's --kconfig_add takes it.
KCONFIG_OPTION = re.compile(r'CONFIG_[A-Z0-9_]+=(?:[ynm]|[0-9]+)')


def kconfig_option(text: str) -> str:
	if not KCONFIG_OPTION.fullmatch(text):
		raise argparse.ArgumentTypeError(f'{text!r}: not CONFIG_NAME=y, =n, =m or =NUMBER')
	return text


def output_file(text: str) -> str:
	"""A file the run will write: its directory must exist and be writable,
	and it must not be a directory itself."""
	path = abs_path(text)
	parent = os.path.dirname(path)
	if os.path.isdir(path):
		raise argparse.ArgumentTypeError(f'{text} is a directory')
	if not os.path.isdir(parent):
		raise argparse.ArgumentTypeError(f'{text}: no such directory {parent}')
	if not os.access(parent, os.W_OK) or (os.path.exists(path) and
						not os.access(path, os.W_OK)):
		raise argparse.ArgumentTypeError(f'{text} is not writable')
	return path


class Parser(argparse.ArgumentParser):
	"""argparse that ends with one line and exit 2 (not its usage text)."""

	def error(self, message: str) -> None:
		raise UsageError(f'{self.prog}: {message}')


# --- parent parsers: the options every subcommand shares --------------------

def where_parser() -> argparse.ArgumentParser:
	p = Parser(add_help=False)
	p.add_argument('--kernel', default='6.12', type=kernel_spec,
		       help='6.12 (default), 7 (newest linux-source-7.*), 7.N, or a kernel tree path')
	p.add_argument('--cache', default=default_cache(), type=abs_path,
		       help='cache for sources, trees and builds (default: %(default)s)')
	return p


def build_parser() -> argparse.ArgumentParser:
	p = Parser(add_help=False)
	p.add_argument('--arch', default='x86_64', choices=ARCHES)
	p.add_argument('--jobs', type=jobs,
		       help='parallel compiles (default: the CPUs here, plus distcc\'s slots)')
	p.add_argument('--trusted', action='store_true',
		       help='run the tree\'s code (kunit.py, make, the kernel) without the sandbox: '
		       'only for your own tree and patches; every output says so')
	p.add_argument('--distcc', metavar='HOSTS', type=distcc_hosts,
		       help='hand compiles to distcc (ccache stays in front): a DISTCC_HOSTS '
		       'list such as "build1/8 build2:3633/4"; a host that is down costs a '
		       'local compile, not the build')
	return p


def full_sha(text: str) -> str:
	if not re.fullmatch(r'[0-9a-f]{40}', text):
		raise argparse.ArgumentTypeError(f'{text!r}: expected a full 40-digit commit id')
	return text


def distcc_hosts(text: str) -> str:
	if not text.split() or any(c in text for c in '\n;$`'):
		raise argparse.ArgumentTypeError(f'{text!r}: expected a DISTCC_HOSTS list')
	return ' '.join(text.split())


def jobs_for(args: argparse.Namespace) -> int:
	"""--jobs, or the CPUs here plus the compile slots distcc offers."""
	if getattr(args, 'jobs', None):
		return int(args.jobs)
	here = os.cpu_count() or 1
	hosts = getattr(args, 'distcc', None)
	return here + distcc_slots(hosts) if hosts else here


def run_parser() -> argparse.ArgumentParser:
	p = Parser(add_help=False)
	p.add_argument('--commit', metavar='REV',
		       help='with --kernel PATH, a git repository: test this commit (git archive)')
	p.add_argument('--patch', action='append', default=[], metavar='FILE', type=abs_path,
		       help='patch, mbox (git format-patch, b4 .mbx, a public-inbox thread, '
		       'gzipped or not) or maildir to apply with -p1 after the suite; '
		       'repeatable, in order')
	p.add_argument('--revision', type=revision, metavar='N',
		       help='from a thread, take revision N of the series (default: the newest)')
	p.add_argument('--message-id', metavar='MSGID',
		       help='from mail holding several series, the one whose thread holds MSGID')
	p.add_argument('--reply-patch', action='append', default=[], metavar='MSGID',
		       help='take the inline patch of the reply MSGID in place of the patch it '
		       'answers (replies are left out otherwise); repeatable')
	p.add_argument('--expect-policy', '--policy', dest='policy', choices=POLICIES,
		       help='policy the suite expects (default: the generation\'s own)')
	p.add_argument('--build-dir', metavar='DIR', type=abs_path,
		       help='build directory (default: one per kernel, arch and --debug '
		       'in the cache)')
	p.add_argument('--repeat', type=int, default=1, choices=range(1, 6), metavar='N',
		       help='run the suites N times (1-5) in one boot; results must not differ')
	p.add_argument('--debug', action='store_true',
		       help='build with KASAN, lockdep, DEBUG_LIST, DEBUG_VM and kmemleak in a '
		       'build directory of its own; any splat fails the run')
	p.add_argument('--kconfig', action='append', default=[], metavar='CONFIG_NAME=V',
		       type=kconfig_option,
		       help='build with this option as well (e.g. CONFIG_MEMORY_HOTREMOVE=n), in a '
		       'build directory of its own; repeatable')
	p.add_argument('--allow-suite-edits', action='store_true',
		       help='judge a patch that also edits the suite\'s own files (refused '
		       'otherwise); the verdict and outputs say it did')
	p.add_argument('--json', dest='json_path', metavar='FILE', type=output_file,
		       help='write the JSON result (kunit.py\'s, with run metadata) to FILE')
	p.add_argument('--junit', dest='junit_path', metavar='FILE', type=output_file,
		       help='write a JUnit XML report, with run metadata, to FILE')
	return p


def request_from(args: argparse.Namespace) -> RunRequest:
	"""The run the options ask for; patch files are read and checked now."""
	choice = mail.Choice(revision=args.revision, msgid=args.message_id,
			     reply_patches=tuple(args.reply_patch))
	inputs = patches.read_inputs(args.patch, os.path.join(args.cache, 'tmp'), choice)
	if (args.revision or args.message_id or args.reply_patch) and not inputs.threads:
		raise UsageError('--revision, --message-id and --reply-patch choose from a mail '
				'thread; no --patch is one')
	return RunRequest(cache=args.cache, kernel=args.kernel, commit=args.commit,
			  arch=args.arch, patches=inputs.patches, threads=inputs.threads,
			  policy=args.policy, json_path=args.json_path,
			  junit_path=args.junit_path, jobs=jobs_for(args), repeat=args.repeat,
			  distcc=args.distcc,
			  debug=args.debug, kconfig=args.kconfig, build_dir=args.build_dir,
			  allow_suite_edits=args.allow_suite_edits, trusted=args.trusted)


# --- subcommands --------------------------------------------------------------

def cmd_run(args: argparse.Namespace) -> int:
	res = pipeline.run_suite(request_from(args))
	pipeline.report(res)
	print(res.outcome.summary())
	return Exit.OK if res.outcome.ok else Exit.TESTS_FAILED


def cmd_unit(args: argparse.Namespace) -> int:
	host.ensure_commands(host.TEST_NEEDS)
	passed, failed, skipped = testplan.run_unit_tests()
	return Exit.TESTS_FAILED if failed else Exit.OK


def cmd_test(args: argparse.Namespace) -> int:
	host.ensure_commands(host.TEST_NEEDS)
	return testplan.main(testplan.plan(args.kernel, args.arch), args.cache, args.jobs,
			     args.debug, hostile_patches=not args.no_hostile,
			     catalogues_too=not args.no_mutants)


def cmd_validate(args: argparse.Namespace) -> int:
	from slub_kunit.judge import validate
	req = request_from(args)
	if args.commits:
		if req.patches or args.commit:
			raise UsageError('validate: --commits takes the place of --patch and --commit')
		req = validate.from_commits(req, args.commits)
	elif not req.patches:
		raise UsageError('validate needs --patch FILE or --commits BASE..HEAD')
	if (args.reply or args.checks) and len(req.threads) > 1:
		raise UsageError('--reply and --checks answer one series; these --patch files hold '
				f'{len(req.threads)}')
	sender = reply_sender(args.reply_from) if args.reply else ''
	return validate.main(req, validate.Answer(report=args.report, reply=args.reply,
						  checks=args.checks, sender=sender))


def reply_sender(given: Optional[str]) -> str:
	"""--reply-from, or the user's git identity, or a name that says what
	it is (git send-email and sendmail -t need a From)."""
	from slub_kunit.series.export import identity
	try:
		name, addr = identity(given, sign_off=False)
	except UserError:
		if given:
			raise
		name, addr = 'slub-kunit', 'slub-kunit@localhost'
	return f'{name} <{addr}>'



def cmd_watch(args: argparse.Namespace) -> int:
	from slub_kunit import watch
	from slub_kunit.judge import validate
	if args.trusted:
		raise UsageError('watch judges mail from anyone: --trusted is refused there')
	req = RunRequest(cache=args.cache, kernel=args.kernel, arch=args.arch, jobs=jobs_for(args),
			 distcc=args.distcc, policy=args.policy, repeat=args.repeat, debug=args.debug,
			 kconfig=args.kconfig, build_dir=args.build_dir,
			 allow_suite_edits=args.allow_suite_edits)
	pipeline.check_paths(req)
	return watch.main(args.spool, args.out, req, reply_sender(args.reply_from),
			  validate.main, once=args.once, interval=args.interval)


def cmd_export(args: argparse.Namespace) -> int:
	from slub_kunit.series import export
	return export.main(args.kernel, args.cache, args.out, author=args.author,
			   check=args.check, jobs=args.jobs, base=args.base, commit=args.commit)


def cmd_mutate(args: argparse.Namespace) -> int:
	from slub_kunit.judge import mutate
	return mutate.main(request_from(args), args.only, args.correct, each=args.rebuild_each)


def cmd_bench(args: argparse.Namespace) -> int:
	from slub_kunit import bench
	req = RunRequest(cache=args.cache, kernel=args.kernel, arch=args.arch, jobs=jobs_for(args),
			 distcc=args.distcc)
	return bench.main(req, cold=not args.warm_only, stock=not args.no_stock)


def parser() -> argparse.ArgumentParser:
	where, build, run = where_parser(), build_parser(), run_parser()
	p = Parser(prog='slub-kunit',
		   description='Build a kernel with the SLUB NUMA hotplug KUnit suite and run it.')
	sub = p.add_subparsers(dest='command', required=True, parser_class=Parser)

	sp = sub.add_parser('run', parents=[where, build, run],
			    help='run the suite on one kernel and arch')
	sp.set_defaults(func=cmd_run)

	sp = sub.add_parser('test', help='runner unit tests, then the suite on 6.12 and 7.x '
			    'under x86_64, um and ppc64le and on 7.2 under x86_64, each '
			    'booted twice, and the mutant catalogues (what CI runs)')
	sp.add_argument('--kernel', action='append', type=kernel_spec,
			help='kernels to run (default: the plan in testplan.py); repeatable')
	sp.add_argument('--arch', action='append', choices=ARCHES,
			help='arches to run (default: the plan in testplan.py); repeatable')
	sp.add_argument('--cache', default=default_cache(), type=abs_path)
	sp.add_argument('--jobs', type=jobs, default=os.cpu_count() or 1)
	sp.add_argument('--debug', action='store_true',
			help='the debug kernels of run --debug instead')
	sp.add_argument('--no-hostile', action='store_true',
			help='leave out the hostile patches (sandbox and poisoning checks)')
	sp.add_argument('--no-mutants', action='store_true',
			help='skip the mutant catalogues (each generation\'s, on x86_64, '
			'in one build each)')
	sp.set_defaults(func=cmd_test)

	sp = sub.add_parser('unit', help='the runner\'s own unit tests alone (no kernel built; '
			    'the first part of test)')
	sp.set_defaults(func=cmd_unit)

	sp = sub.add_parser('validate', parents=[where, build, run],
			    help='judge patches one by one: what each changes, policy or '
			    'invariants, and the first that breaks an invariant')
	sp.add_argument('--commits', metavar='BASE..HEAD',
			help='with --kernel PATH, a git repository: the tree of BASE and the '
			'commits up to HEAD, read with git archive and git format-patch')
	sp.add_argument('--report', metavar='FILE', type=output_file,
			help='a short plain-text report fit for a mailing-list reply')
	sp.add_argument('--reply', metavar='FILE', type=output_file,
			help='the verdict as a reply mail to the series (threaded under its cover '
			'letter, reply-all), for git send-email or sendmail -t; nothing is sent')
	sp.add_argument('--reply-from', metavar='"NAME <EMAIL>"',
			help='the reply\'s From (default: your git identity)')
	sp.add_argument('--checks', metavar='FILE', type=output_file,
			help='one patchwork check per patch (state, context, description), as '
			'JSON, for git-pw or pwclient')
	sp.set_defaults(func=cmd_validate)

	sp = sub.add_parser('watch', parents=[where, build],
			    help='the bot loop: judge every complete series that arrives in a '
			    'maildir or mbox once, writing its reply mail and patchwork checks')
	sp.add_argument('spool', type=abs_path, metavar='SPOOL',
			help='a maildir or an mbox file that mail is added to (lei q -o, a '
			'list subscription)')
	sp.add_argument('--out', required=True, type=abs_path, metavar='DIR',
			help='where each judged series gets a directory (reply.eml, '
			'checks.json, report.txt, validate.json); also the loop\'s state')
	sp.add_argument('--once', action='store_true',
			help='one pass over the spool, then exit')
	sp.add_argument('--interval', type=float, default=300.0, metavar='SECONDS',
			help='between passes (default: %(default)s)')
	sp.add_argument('--reply-from', metavar='"NAME <EMAIL>"',
			help='the replies\' From (default: your git identity)')
	sp.add_argument('--expect-policy', '--policy', dest='policy', choices=POLICIES)
	sp.add_argument('--build-dir', metavar='DIR', type=abs_path)
	sp.add_argument('--repeat', type=int, default=1, choices=range(1, 6), metavar='N')
	sp.add_argument('--debug', action='store_true')
	sp.add_argument('--kconfig', action='append', default=[], metavar='CONFIG_NAME=V',
			type=kconfig_option)
	sp.add_argument('--allow-suite-edits', action='store_true')
	sp.set_defaults(func=cmd_watch)

	sp = sub.add_parser('export', parents=[where],
			    help='write the suite as a git format-patch series for a tree')
	sp.add_argument('--out', required=True, metavar='DIR', type=abs_path,
			help='an empty or new directory for the series')
	sp.add_argument('--from', dest='author', metavar='"NAME <EMAIL>"',
			help='author and Signed-off-by (default: your git identity; a no-reply '
			'address is refused)')
	sp.add_argument('--base', type=full_sha, metavar='SHA1',
			help='the base-commit: of the cover letter (default: the commit of '
			'--kernel PATH --commit REV, or HEAD of a git tree --kernel names)')
	sp.add_argument('--commit', metavar='REV',
			help='with --kernel PATH, a git repository: export for the tree of REV')
	sp.add_argument('--check', action='store_true',
			help='also git am the series onto the pristine tree, build after '
			'each patch, and run it with stock kunit.py')
	sp.add_argument('--jobs', type=jobs, default=os.cpu_count() or 1)
	sp.set_defaults(func=cmd_export)

	sp = sub.add_parser('mutate', parents=[where, build, run],
			    help='break mm/slub.c on purpose, one mutant at a time, and check '
			    'the suite catches each')
	sp.add_argument('--only', action='append', metavar='NAME',
			help='run only this mutant; repeatable')
	sp.add_argument('--rebuild-each', action='store_true',
			help='build one kernel per mutant (the default builds every mutant the '
			'schemata can express into one kernel, chosen at boot)')
	sp.add_argument('--correct', action='store_true',
			help='run the catalogue of correct patches (tools/correct/) instead: '
			'each must pass, or be named as not judgeable')
	sp.set_defaults(func=cmd_mutate)

	sp = sub.add_parser('bench', parents=[where, build],
			    help='time-to-verdict of the runner against the tree\'s kunit.py by '
			    'hand, cold and warm')
	sp.add_argument('--warm-only', action='store_true',
			help='skip the cold builds (reuse the bench\'s build directories)')
	sp.add_argument('--no-stock', action='store_true',
			help='skip stock kunit.py on the kernel\'s own slub_kunit suite')
	sp.set_defaults(func=cmd_bench)
	return p


def main(argv: List[str]) -> int:
	with procs.catching_signals():
		return _main(argv)


def _main(argv: List[str]) -> int:
	try:
		args = parser().parse_args(argv)
		return int(args.func(args))
	except procs.Interrupted as sig:
		procs.end_all()
		print(f'slub-kunit: interrupted by {sig}; every process it started has ended, '
		      'and the cache stays usable', file=sys.stderr)
		return sig.code
	except UserError as err:
		return die(err)
	except OSError as err:
		# A disk filling up or a directory vanishing under a run: the
		# work tree has been put back; say what failed, not where.
		where = f' ({err.filename})' if err.filename else ''
		return die(HostError(f'{err.strerror or err}{where}'))
	except KeyboardInterrupt:
		print('slub-kunit: interrupted; the cache stays usable', file=sys.stderr)
		return Exit.INTERRUPTED
