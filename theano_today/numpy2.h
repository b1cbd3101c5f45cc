/* Force-included (gcc -include) into every C file Theano compiles, with
 * numpy 2 only (theano_today.runtime.choose_numpy2_cxxflags). Theano 1.0.5's
 * C code uses names numpy 1's npy_3kcompat.h defined and numpy 2 removed,
 * and reads descr->elsize, which numpy 2 shows only to code that targets
 * its 2.0 API. Macros only: this file includes nothing, as it also goes
 * into Theano's compiler probes, which are not Python extensions. */
#ifndef THEANO_TODAY_NUMPY2_H
#define THEANO_TODAY_NUMPY2_H
#define NPY_TARGET_VERSION NPY_2_0_API_VERSION
#define NPY_PY3K 1
#define PyInt_Type PyLong_Type
#define PyInt_Check PyLong_Check
#define PyInt_CheckExact PyLong_CheckExact
#define PyInt_FromLong PyLong_FromLong
#define PyInt_AsLong PyLong_AsLong
#define PyInt_AS_LONG PyLong_AsLong
#define PyInt_AsSsize_t PyLong_AsSsize_t
#define PyNumber_Int PyNumber_Long
#define PyString_Type PyBytes_Type
#define PyString_Check PyBytes_Check
#define PyString_FromString PyBytes_FromString
#define PyString_FromStringAndSize PyBytes_FromStringAndSize
#define PyString_AS_STRING PyBytes_AS_STRING
#define PyString_AsStringAndSize PyBytes_AsStringAndSize
#define PyString_FromFormat PyBytes_FromFormat
#define PyString_AsString PyBytes_AsString
#define PyString_GET_SIZE PyBytes_GET_SIZE
#define PyString_Size PyBytes_Size
#endif
