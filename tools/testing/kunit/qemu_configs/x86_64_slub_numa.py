# SPDX-License-Identifier: GPL-2.0
#
# QEMU x86_64 with NUMA and hot-pluggable memory for the SLUB hotplug suite.
#
# node 0: CPU 0, 512 MiB    node 1: CPU 1, 512 MiB
# node 2: CPU 2, no boot memory (a memoryless node with a CPU, online from
#         boot), and a cold-plugged 256 MiB pc-dimm
# node 3: no CPU, no boot memory; it is the last node, so QEMU's SRAT gives
#         it the hot-pluggable range, and a cold-plugged 256 MiB pc-dimm
#
# The DIMMs' memory blocks (two each) stay offline (memhp_default_state=
# offline): they are what a synthetic event for a memoryless node is about,
# since the core sends none for a node without a memory block.
#
# Node 3 is the farthest from every other node, so that nothing but what
# asks for it by name lands on its memory once it is online.
#
# The machine has what the real-hotplug suite needs, so it enables that
# suite's option (CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST) with memory hotplug.
#
# x86 onlines every SRAT node that has memory or a CPU at boot, and QEMU
# describes no other node, so this machine has no possible-but-offline node.
# preempt=full lets a woken SCHED_FIFO thread preempt at once (the race
# case). panic=-1 reboots a kernel that panics at once, which ends QEMU
# (-no-reboot), instead of leaving it spinning until kunit.py's timeout.

from ..qemu_config import QemuArchParams

QEMU_ARCH = QemuArchParams(linux_arch='x86_64',
			   kconfig='''
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_SMP=y
CONFIG_PCI=y
CONFIG_NUMA=y
CONFIG_X86_64_ACPI_NUMA=y
CONFIG_ACPI=y
CONFIG_ACPI_HOTPLUG_MEMORY=y
CONFIG_SPARSEMEM_VMEMMAP=y
CONFIG_MEMORY_HOTPLUG=y
CONFIG_MEMORY_HOTREMOVE=y
CONFIG_MHP_DEFAULT_ONLINE_TYPE_OFFLINE=y
CONFIG_SLUB_HOTPLUG_REAL_KUNIT_TEST=y''',
			   qemu_arch='x86_64',
			   kernel_path='arch/x86/boot/bzImage',
			   kernel_command_line='console=ttyS0 memhp_default_state=offline preempt=full '
					   'panic=-1',
			   extra_qemu_params=[
				'-bios', 'qboot.rom',
				'-machine', 'pc',
				'-cpu', 'max',
				'-smp', '3,sockets=3,cores=1,threads=1',
				'-m', '1G,slots=2,maxmem=2G',
				'-object', 'memory-backend-ram,id=ram0,size=512M',
				'-object', 'memory-backend-ram,id=ram1,size=512M',
				'-object', 'memory-backend-ram,id=dimm0,size=256M',
				'-object', 'memory-backend-ram,id=dimm1,size=256M',
				'-numa', 'node,nodeid=0,cpus=0,memdev=ram0',
				'-numa', 'node,nodeid=1,cpus=1,memdev=ram1',
				'-numa', 'node,nodeid=2,cpus=2',
				'-numa', 'node,nodeid=3',
				'-numa', 'dist,src=0,dst=1,val=20',
				'-numa', 'dist,src=0,dst=2,val=20',
				'-numa', 'dist,src=1,dst=2,val=20',
				'-numa', 'dist,src=0,dst=3,val=40',
				'-numa', 'dist,src=1,dst=3,val=40',
				'-numa', 'dist,src=2,dst=3,val=40',
				'-device', 'pc-dimm,id=dimm0,memdev=dimm0,node=3',
				'-device', 'pc-dimm,id=dimm1,memdev=dimm1,node=2',
			   ])
