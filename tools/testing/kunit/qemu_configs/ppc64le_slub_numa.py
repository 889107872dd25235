# SPDX-License-Identifier: GPL-2.0
#
# QEMU pseries (ppc64le) with NUMA for the SLUB hotplug suite: the machine
# on which SLUB's memoryless-node crashes were found.
#
# node 0: CPU 0, 512 MiB    node 1: CPU 1, 512 MiB
# node 2: CPU 2, no memory: a memoryless node with a CPU, which powerpc
#         (CONFIG_HAVE_MEMORYLESS_NODES) keeps memoryless: numa_mem_id() of
#         its CPU is another node
# node 3: no CPU; a cold-plugged 512 MiB pc-dimm, which the firmware marks
#         hot-removable: with movable_node it is ZONE_MOVABLE from early
#         boot, so the node has memory but no normal memory
# node 4: no CPU, no memory: declared by the firmware (its associativity
#         domain), so possible, but never online
#
# Room for hotplug (slots, maxmem) makes the firmware describe memory in
# 256 MiB LMBs, so memory blocks are that size and each belongs to one
# node; without it one block spans all memory. No memoryless node has
# offline blocks: SLOF hands a cold-plugged pc-dimm to the kernel as boot
# memory, and memory hot-added later needs QEMU's monitor (device_add),
# which kunit.py does not drive; the cases that need such a node skip.
#
# panic=-1 reboots a kernel that panics at once, which ends QEMU
# (-no-reboot), instead of leaving it spinning until kunit.py's timeout.

from ..qemu_config import QemuArchParams

QEMU_ARCH = QemuArchParams(linux_arch='powerpc',
			   kconfig='''
CONFIG_PPC64=y
CONFIG_CPU_LITTLE_ENDIAN=y
CONFIG_PPC_PSERIES=y
CONFIG_HVC_CONSOLE=y
CONFIG_SMP=y
CONFIG_NR_CPUS=4
CONFIG_NUMA=y
CONFIG_MEMORY_HOTPLUG=y
CONFIG_MEMORY_HOTREMOVE=y
CONFIG_MHP_DEFAULT_ONLINE_TYPE_OFFLINE=y
CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST=y''',
			   qemu_arch='ppc64',
			   kernel_path='vmlinux',
			   kernel_command_line='console=hvc0 movable_node memhp_default_state=offline '
					   'panic=-1',
			   extra_qemu_params=[
				'-machine', 'pseries',
				'-cpu', 'power9',
				'-smp', '3,sockets=3,cores=1,threads=1',
				'-m', '1G,slots=2,maxmem=2G',
				'-object', 'memory-backend-ram,id=ram0,size=512M',
				'-object', 'memory-backend-ram,id=ram1,size=512M',
				'-object', 'memory-backend-ram,id=dimm0,size=512M',
				'-numa', 'node,nodeid=0,cpus=0,memdev=ram0',
				'-numa', 'node,nodeid=1,cpus=1,memdev=ram1',
				'-numa', 'node,nodeid=2,cpus=2',
				'-numa', 'node,nodeid=3',
				'-numa', 'node,nodeid=4',
				'-numa', 'dist,src=0,dst=1,val=20',
				'-numa', 'dist,src=0,dst=2,val=20',
				'-numa', 'dist,src=1,dst=2,val=20',
				'-numa', 'dist,src=0,dst=3,val=40',
				'-numa', 'dist,src=1,dst=3,val=40',
				'-numa', 'dist,src=2,dst=3,val=40',
				'-numa', 'dist,src=0,dst=4,val=40',
				'-numa', 'dist,src=1,dst=4,val=40',
				'-numa', 'dist,src=2,dst=4,val=40',
				'-numa', 'dist,src=3,dst=4,val=40',
				'-device', 'pc-dimm,id=dimm0,memdev=dimm0,node=3',
			   ])
