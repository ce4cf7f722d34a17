/* amx_ops_end.h — undefines what amx_ops.h defined (see there). */
#undef AMX_AVX512_TGT
#undef AMX_BARRIER
#undef AMX_FN
#undef AMX_TGT
#undef AMX_CFG
#undef AMX_RELEASE
#undef AMX_ZERO
#undef AMX_LOAD
#undef AMX_STORE
#undef AMX_DPBSUD
#undef AMX_DPBF16PS
