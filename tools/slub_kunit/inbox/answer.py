# SPDX-License-Identifier: GPL-2.0
"""validate's answer where reviewers read it: a reply mail to the series
(threaded under its cover letter, reply-all, in the style linux-mm knows
from the 0-day reports), and one patchwork check per patch. Both are made
from validate's JSON report alone, so a bot can make them again later.
Nothing is sent: the reply is a file for git send-email or sendmail -t,
the checks a file for git-pw or pwclient.
"""

import email.message
import email.policy
import email.utils
import json
import re
import textwrap
from typing import Any, Dict, List, Optional

from slub_kunit.common import atomic_write
from slub_kunit.inbox.mail import Thread
from slub_kunit.status import Step

# Patchwork's check states, by validate's step verdict. A step not tested
# (after one that did not apply or build) is a warning: nothing was shown.
STATE = {
	Step.NO_CHANGE: 'success',
	Step.CHANGED: 'success',
	Step.POLICY: 'warning',
	Step.BROKEN: 'fail',
	Step.NO_APPLY: 'fail',
	Step.NO_BUILD: 'fail',
	Step.NOT_JUDGED: 'warning',
	Step.HOST_FAILED: 'warning',
}

SIGNATURE = 'slub-kunit, the SLUB NUMA hotplug KUnit suite'
# Cases the reply shows in full, KUnit's lines with each.
MAX_CASES = 8


def context(data: Dict[str, Any]) -> str:
	"""A stable check context: patchwork takes a slug (letters, digits, '-'
	and '_'). One per kernel line and arch, so that 6.12 and 7.x checks of
	one patch stand side by side."""
	kernel = data.get('kernel_spec') or data.get('generation') or 'kernel'
	if '/' in kernel:
		kernel = data.get('generation') or 'tree'
	text = f'slub-kunit-{kernel}-{data.get("arch")}' + ('-debug' if data.get('debug') else '')
	return re.sub(r'[^A-Za-z0-9_-]+', '-', text)[:255]


def checks(data: Dict[str, Any]) -> List[Dict[str, Any]]:
	"""One check per patch of the series, in order: its Message-Id (what a
	bot looks the patch up by) and the fields patchwork's REST API takes
	for POST /api/patches/{id}/checks/."""
	steps = {st['step']: st for st in data['steps']}
	ctx = context(data)
	out = []
	for n, patch in enumerate(data['series_patches'], 1):
		st = steps.get(n)
		if st is None:
			stuck = data['steps'][-1] if data['steps'] else None
			state = 'warning'
			desc = (f'not tested: patch {stuck["step"]}/{len(data["series_patches"])} '
				f'{stuck["verdict"]}' if stuck else 'not tested')
		else:
			verdict = Step(st['verdict'])
			state = STATE[verdict]
			desc = st.get('detail') or verdict.value
		if data.get('sandbox', '').startswith('trusted'):
			desc = f'[trusted, unsandboxed] {desc}'
		out.append({'message_id': patch.get('message_id', ''),
			    'patch': f'{n}/{len(data["series_patches"])}',
			    'subject': patch.get('subject', ''),
			    'check': {'state': state, 'target_url': data.get('target_url') or '',
				      'context': ctx, 'description': one_line(desc, 200)}})
	return out


def one_line(text: str, width: int) -> str:
	text = ' '.join(text.split())
	return text if len(text) <= width else text[:width - 3] + '...'


def write_checks(path: str, data: Dict[str, Any]) -> None:
	atomic_write(path, json.dumps(checks(data), indent=2, ensure_ascii=False) + '\n')


# --- the reply mail ------------------------------------------------------------------

def first_name(sender: str) -> str:
	name, addr = email.utils.parseaddr(sender)
	return (name.split() or [addr.split('@')[0] or 'all'])[0].strip('"')


def recipients(thread: Thread, me: str) -> Dict[str, List[str]]:
	"""Reply-all, as b4 and git send-email answer: To the author, Cc whoever
	the series went to, each address once, never the sender itself."""
	mine = email.utils.parseaddr(me)[1].lower()
	seen = {mine}
	out: Dict[str, List[str]] = {'To': [], 'Cc': []}
	for key, addrs in (('To', [thread.sender]), ('Cc', thread.to + thread.cc)):
		for a in addrs:
			addr = email.utils.parseaddr(a)[1].lower()
			if addr and addr not in seen:
				seen.add(addr)
				out[key].append(a)
	if not out['To'] and out['Cc']:
		out['To'].append(out['Cc'].pop(0))
	return out


def body(data: Dict[str, Any], thread: Optional[Thread]) -> str:
	total = data['patches']
	steps = data['steps']
	out = [f'Hi {first_name(thread.sender) if thread else "all"},', '']
	what = (f'this series ("{thread.subject}", v{thread.revision}, {total} patch'
		f'{"es" if total != 1 else ""})' if thread else f'these {total} patch(es)')
	out += textwrap.wrap(f'{SIGNATURE}, tested {what} one patch at a time, against '
			     'the baseline it applies to.', 72) + ['']
	arch = {'x86_64': 'x86_64 (QEMU, TCG, several NUMA nodes, hot-pluggable memory)',
		'um': 'um (UML, one node: node cases skip)'}.get(data['arch'], data['arch'])
	out += [f'  kernel:    {data["kernel"]} ({data["generation"]} generation)',
		f'  arch:      {arch}' + (', debug kernel' if data.get('debug') else ''),
		f'  policy:    {data["policy"]} expected (the baseline\'s)',
		f'  baseline:  {data["baseline"]}']
	if data.get('sandbox'):
		out.append(f'  run:       {data["sandbox"]}')
	out.append('')
	out += textwrap.wrap(f'verdict: {data["verdict"]}', 72, subsequent_indent='  ') + ['']
	width = max([len(st['patch'].get('subject', '')) for st in steps] + [10])
	width = min(width, 46)
	for st in steps:
		subject = one_line(st['patch'].get('subject', ''), width)
		out.append(f'  [{st["step"]}/{total}] {subject:<{width}}  {st["verdict"]}')
	if len(steps) < total:
		out.append(f'  ({total - len(steps)} later patch(es) not tested)')
	bad = next((st for st in steps if st['verdict'] == Step.BROKEN.value), None) or \
		next((st for st in steps if st['verdict'] == Step.POLICY.value), None)
	if bad:
		out += ['', f'first {"bad" if bad["verdict"] == Step.BROKEN.value else "policy change"}'
			f': [{bad["step"]}/{total}] {bad["patch"].get("subject", "")}']
		if bad['patch'].get('message_id'):
			out.append(f'  <{bad["patch"]["message_id"]}>')
		out += ['', 'Cases that changed there, with the invariant each pins (see',
			'Documentation/mm/slub-hotplug-kunit.rst):', '']
		shown = bad['changes'][:MAX_CASES]
		for c in shown:
			out.append(f'  {c["case"]}')
			out.append(f'      {c["baseline"]} -> {c["patched"]} '
				   f'({c["kind"]}; {c["invariant"]}; under the other policy: '
				   f'{c["other_policy"]})')
			for line in bad.get('failures', {}).get(c['case'], [])[:8]:
				out.append(f'      | {line}')
		if len(bad['changes']) > len(shown):
			out.append(f'  ... and {len(bad["changes"]) - len(shown)} more case(s) (the '
				   'JSON report lists every one)')
		for problem in bad.get('problems', [])[:3]:
			out.append(f'  {problem}')
	stuck = next((st for st in steps if st['verdict'] in
		      (Step.NO_APPLY.value, Step.NO_BUILD.value, Step.NOT_JUDGED.value,
		       Step.HOST_FAILED.value)), None)
	if stuck:
		out += ['', f'[{stuck["step"]}/{total}] {stuck["verdict"]}:',
			*textwrap.wrap(stuck.get('detail', ''), 70, initial_indent='  ',
				       subsequent_indent='  ')]
	for st in steps:
		if st['patch'].get('edits_suite'):
			out += ['', f'NOTE: [{st["step"]}/{total}] also edits the suite '
				f'({", ".join(st["patch"]["edits_suite"])}); judged as asked.']
	out += ['', 'To reproduce:', '', f'  {data["reproduce"]}', '']
	if thread and thread.left:
		out += textwrap.wrap(f'Taken from the thread: v{thread.revision}, '
				     + ', '.join(f'<{m}>' for m in thread.taken)
				     + '; left out: ' + '; '.join(thread.left) + '.', 72) + ['']
	out += ['-- ', SIGNATURE]
	return '\n'.join(out) + '\n'


def reply(data: Dict[str, Any], thread: Optional[Thread], me: str,
	  msgid_domain: str = 'slub-kunit.invalid') -> email.message.EmailMessage:
	"""The reply mail: threaded under the series (its cover letter, or its
	first patch), Subject 'Re: ' and the series' subject."""
	m = email.message.EmailMessage(policy=email.policy.SMTP)
	m['From'] = me
	if thread:
		for key, addrs in recipients(thread, me).items():
			if addrs:
				m[key] = ', '.join(addrs)
		subject = thread.subject
		m['Subject'] = subject if re.match(r'^re:', subject, re.I) else f'Re: {subject}'
		m['In-Reply-To'] = f'<{thread.msgid}>'
		m['References'] = ' '.join(f'<{r}>' for r in dict.fromkeys(thread.references))
	else:
		first = data['series_patches'][0].get('subject', '') if data['series_patches'] else ''
		m['Subject'] = f'Re: {first}' if first else 'slub-kunit verdict'
	m['Date'] = email.utils.formatdate(localtime=False)
	m['Message-Id'] = email.utils.make_msgid('slub-kunit', domain=msgid_domain)
	m['X-Slub-Kunit-Verdict'] = one_line(data['verdict'], 200)
	m.set_content(body(data, thread), charset='utf-8', cte='8bit')
	return m


def write_reply(path: str, data: Dict[str, Any], thread: Optional[Thread], me: str) -> None:
	text = reply(data, thread, me).as_bytes(policy=email.policy.SMTP.clone(linesep='\n'))
	atomic_write(path, text)
