/* Names for OpenCL error codes and CLBlast status codes, so messages say
 * CL_OUT_OF_RESOURCES rather than -5. */
#include "ocl.h"

#define OCL_ERROR_LIST(X)                                                                       \
    X(CL_SUCCESS) X(CL_DEVICE_NOT_FOUND) X(CL_DEVICE_NOT_AVAILABLE) X(CL_COMPILER_NOT_AVAILABLE) \
    X(CL_MEM_OBJECT_ALLOCATION_FAILURE) X(CL_OUT_OF_RESOURCES) X(CL_OUT_OF_HOST_MEMORY)          \
    X(CL_PROFILING_INFO_NOT_AVAILABLE) X(CL_MEM_COPY_OVERLAP) X(CL_IMAGE_FORMAT_MISMATCH)        \
    X(CL_IMAGE_FORMAT_NOT_SUPPORTED) X(CL_BUILD_PROGRAM_FAILURE) X(CL_MAP_FAILURE)               \
    X(CL_MISALIGNED_SUB_BUFFER_OFFSET) X(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)          \
    X(CL_COMPILE_PROGRAM_FAILURE) X(CL_LINKER_NOT_AVAILABLE) X(CL_LINK_PROGRAM_FAILURE)          \
    X(CL_DEVICE_PARTITION_FAILED) X(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) X(CL_INVALID_VALUE)        \
    X(CL_INVALID_DEVICE_TYPE) X(CL_INVALID_PLATFORM) X(CL_INVALID_DEVICE) X(CL_INVALID_CONTEXT)  \
    X(CL_INVALID_QUEUE_PROPERTIES) X(CL_INVALID_COMMAND_QUEUE) X(CL_INVALID_HOST_PTR)            \
    X(CL_INVALID_MEM_OBJECT) X(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) X(CL_INVALID_IMAGE_SIZE)      \
    X(CL_INVALID_SAMPLER) X(CL_INVALID_BINARY) X(CL_INVALID_BUILD_OPTIONS)                       \
    X(CL_INVALID_PROGRAM) X(CL_INVALID_PROGRAM_EXECUTABLE) X(CL_INVALID_KERNEL_NAME)             \
    X(CL_INVALID_KERNEL_DEFINITION) X(CL_INVALID_KERNEL) X(CL_INVALID_ARG_INDEX)                 \
    X(CL_INVALID_ARG_VALUE) X(CL_INVALID_ARG_SIZE) X(CL_INVALID_KERNEL_ARGS)                     \
    X(CL_INVALID_WORK_DIMENSION) X(CL_INVALID_WORK_GROUP_SIZE) X(CL_INVALID_WORK_ITEM_SIZE)      \
    X(CL_INVALID_GLOBAL_OFFSET) X(CL_INVALID_EVENT_WAIT_LIST) X(CL_INVALID_EVENT)                \
    X(CL_INVALID_OPERATION) X(CL_INVALID_GL_OBJECT) X(CL_INVALID_BUFFER_SIZE)                    \
    X(CL_INVALID_MIP_LEVEL) X(CL_INVALID_GLOBAL_WORK_SIZE) X(CL_INVALID_PROPERTY)                \
    X(CL_INVALID_IMAGE_DESCRIPTOR) X(CL_INVALID_COMPILER_OPTIONS) X(CL_INVALID_LINKER_OPTIONS)   \
    X(CL_INVALID_DEVICE_PARTITION_COUNT)

const char *ocl_error_name(cl_int err)
{
    switch (err) {
#define X(name) \
    case name:  \
        return #name;
        OCL_ERROR_LIST(X)
#undef X
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    }
    return "CL_UNKNOWN_ERROR";
}

#define CLBLAST_STATUS_LIST(X)                                                                   \
    X(CLBlastNotImplemented, -1024) X(CLBlastInvalidMatrixA, -1022) X(CLBlastInvalidMatrixB, -1021) \
    X(CLBlastInvalidMatrixC, -1020) X(CLBlastInvalidVectorX, -1019) X(CLBlastInvalidVectorY, -1018) \
    X(CLBlastInvalidDimension, -1017) X(CLBlastInvalidLeadDimA, -1016)                           \
    X(CLBlastInvalidLeadDimB, -1015) X(CLBlastInvalidLeadDimC, -1014)                            \
    X(CLBlastInvalidIncrementX, -1013) X(CLBlastInvalidIncrementY, -1012)                        \
    X(CLBlastInsufficientMemoryA, -1011) X(CLBlastInsufficientMemoryB, -1010)                    \
    X(CLBlastInsufficientMemoryC, -1009) X(CLBlastInsufficientMemoryX, -1008)                    \
    X(CLBlastInsufficientMemoryY, -1007) X(CLBlastInsufficientMemoryTemp, -2050)                 \
    X(CLBlastInvalidBatchCount, -2049) X(CLBlastInvalidOverrideKernel, -2048)                    \
    X(CLBlastMissingOverrideParameter, -2047) X(CLBlastInvalidLocalMemUsage, -2046)              \
    X(CLBlastNoHalfPrecision, -2045) X(CLBlastNoDoublePrecision, -2044)                          \
    X(CLBlastInvalidVectorScalar, -2043) X(CLBlastInsufficientMemoryScalar, -2042)               \
    X(CLBlastDatabaseError, -2041) X(CLBlastUnknownError, -2040) X(CLBlastUnexpectedError, -2039)

const char *clblast_status_name(int status)
{
    switch (status) {
#define X(name, value) \
    case value:        \
        return #name;
        CLBLAST_STATUS_LIST(X)
#undef X
    }
    /* the remaining CLBlast codes are OpenCL's own */
    return ocl_error_name((cl_int)status);
}
