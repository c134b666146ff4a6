/*  version - the version of mt and of its wire protocol  */
#ifndef MT_VERSION_H_INCLUDED
#define MT_VERSION_H_INCLUDED

#define MT_VERSION_MAJOR 0
#define MT_VERSION_MINOR 1
#define MT_VERSION_PATCH 0
#define MT_VERSION       "0.1.0"

#endif
