# Copyright (c) mlcl_plugin authors. All rights reserved.
