/* SPDX-License-Identifier: MIT */
/*
 * The ublk UAPI comes from the kernel's own <linux/ublk_cmd.h> (build.sh
 * points the include path at Debian unstable's linux-libc-dev). Constants
 * that an older header may lack are given here, with the values of the
 * upstream UAPI, so the code builds against either.
 */
#ifndef UBLKCTL_UAPI_H
#define UBLKCTL_UAPI_H

#include <linux/ublk_cmd.h>

#ifndef UBLK_U_CMD_GET_FEATURES
#define UBLK_U_CMD_GET_FEATURES _IOR('u', 0x13, struct ublksrv_ctrl_cmd)
#endif
#ifndef UBLK_U_CMD_DEL_DEV_ASYNC
#define UBLK_U_CMD_DEL_DEV_ASYNC _IOR('u', 0x14, struct ublksrv_ctrl_cmd)
#endif
#ifndef UBLK_F_USER_RECOVERY_FAIL_IO
#define UBLK_F_USER_RECOVERY_FAIL_IO (1ULL << 9)
#endif
#ifndef UBLK_F_UPDATE_SIZE
#define UBLK_F_UPDATE_SIZE (1ULL << 10)
#endif
#ifndef UBLK_F_AUTO_BUF_REG
#define UBLK_F_AUTO_BUF_REG (1ULL << 11)
#endif
#ifndef UBLK_S_DEV_FAIL_IO
#define UBLK_S_DEV_FAIL_IO 3
#endif

#endif
