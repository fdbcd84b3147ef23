import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheDir, failureReason, libraryLinks, localNodeDir, wheelExtractionPlan } from './provision-tensorflow.mjs';

describe('provision-tensorflow helpers', () => {
  it('extracts the two libraries into lib/ and only the C API header trees into include/', () => {
    const plan = wheelExtractionPlan([
      'tensorflow/libtensorflow_cc.so.2',
      'tensorflow/libtensorflow_framework.so.2',
      'tensorflow/python/_pywrap_tensorflow_internal.so',
      'tensorflow/include/tensorflow/c/c_api.h',
      'tensorflow/include/tensorflow/c/eager/c_api.h',
      'tensorflow/include/tensorflow/c/',
      'tensorflow/include/xla/tsl/c/tsl_status.h',
      'tensorflow/include/tsl/platform/ctstring.h',
      'tensorflow/include/Eigen/Core',
      'tensorflow/include/tensorflow/core/framework/tensor.h',
    ]);
    expect(plan).toEqual([
      ['tensorflow/libtensorflow_cc.so.2', 'lib/libtensorflow_cc.so.2'],
      ['tensorflow/libtensorflow_framework.so.2', 'lib/libtensorflow_framework.so.2'],
      ['tensorflow/include/tensorflow/c/c_api.h', 'include/tensorflow/c/c_api.h'],
      ['tensorflow/include/tensorflow/c/eager/c_api.h', 'include/tensorflow/c/eager/c_api.h'],
      ['tensorflow/include/xla/tsl/c/tsl_status.h', 'include/xla/tsl/c/tsl_status.h'],
      ['tensorflow/include/tsl/platform/ctstring.h', 'include/tsl/platform/ctstring.h'],
    ]);
  });

  it('links the names binding.gyp and the install script expect to the real sonames', () => {
    expect(libraryLinks('2.9.1')).toEqual([
      ['libtensorflow.so', 'libtensorflow_cc.so.2'],
      ['libtensorflow.so.2.9.1', 'libtensorflow_cc.so.2'],
      ['libtensorflow_framework.so', 'libtensorflow_framework.so.2'],
      ['libtensorflow_framework.so.2.9.1', 'libtensorflow_framework.so.2'],
    ]);
  });

  it('caches under LANDMARK_STUDIO_CACHE, else XDG_CACHE_HOME, else ~/.cache', () => {
    expect(cacheDir({ LANDMARK_STUDIO_CACHE: '/c' }, '/home/u')).toBe(path.resolve('/c'));
    expect(cacheDir({ XDG_CACHE_HOME: '/x' }, '/home/u')).toBe(path.join('/x', 'landmark-studio'));
    expect(cacheDir({}, '/home/u')).toBe(path.join('/home/u', '.cache', 'landmark-studio'));
  });

  it('finds Node headers from npm config or next to the node binary, else none', () => {
    expect(localNodeDir({ npm_config_nodedir: '/opt/node' }, '/x/bin/node')).toBe('/opt/node');
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'nodedir-'));
    try {
      expect(localNodeDir({}, path.join(prefix, 'bin', 'node'))).toBeNull();
      fs.mkdirSync(path.join(prefix, 'include', 'node'), { recursive: true });
      fs.writeFileSync(path.join(prefix, 'include', 'node', 'node_api.h'), '');
      expect(localNodeDir({}, path.join(prefix, 'bin', 'node'))).toBe(prefix);
    } finally {
      fs.rmSync(prefix, { recursive: true, force: true });
    }
  });

  it('reports the first error line of a failed step', () => {
    expect(failureReason('gyp info ok\nfatal error: xla/tsl/c/tsl_status.h: No such file\nmake: *** Error 1\n')).toBe(
      'fatal error: xla/tsl/c/tsl_status.h: No such file',
    );
    expect(failureReason('something\nlast line\n')).toBe('last line');
    expect(failureReason('')).toBe('no output');
  });
});
