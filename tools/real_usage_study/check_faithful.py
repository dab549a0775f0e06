#!/usr/bin/python3
"""Faithfulness of the prototype: proto.py's base model against the CLI's gam (transform none and log1p) at
z 3.5 on the first seed's set. Reads the alert CSVs written by cli_eval.py (run it first); writes
<out>/faithful.csv with the flag Jaccard index and both F1 per source (London is expected to agree less: the
prototype fits each series over its own span, the CLI over the file's grid).
"""
import os
import numpy as np
import pandas as pd
import protocol as P
import proto as M
import cli_eval as C


def main(args):
    seed = args.seeds[0]
    items = P.load_set(args, seed)
    workdir = os.path.join(args.out, 'cli', f's{seed}')
    rows = []
    for tr, sets in (('none', ['z=3.5']), ('log1p', ['transform=log1p', 'z=3.5'])):
        res = M.run_config(items, {'transform': tr})
        fl = {k: np.nan_to_num(s, nan=0) > 3.5 for k, (s, _) in res.items()}
        for src in ('london', 'wiki', 'bikes'):
            cli = C.flags_from_alerts(items, C.alert_file(workdir, src, C.setting_name('gam', sets)), src)
            a = np.concatenate([fl[k] for k in cli])
            b = np.concatenate([cli[k] for k in cli])
            rows.append(dict(transform=tr, source=src, proto_flags=int(a.sum()), cli_flags=int(b.sum()),
                             jaccard=(a & b).sum() / max((a | b).sum(), 1),
                             proto_F1=P.evaluate(items, fl, sources=(src,)).loc[src, 'F1'],
                             cli_F1=P.evaluate(items, cli, sources=(src,)).loc[src, 'F1']))
    df = pd.DataFrame(rows)
    df.to_csv(os.path.join(args.out, 'faithful.csv'), index=False)
    print(df.round(3).to_string(index=False))


if __name__ == '__main__':
    main(P.parse_args(__doc__.splitlines()[0]))
