/* label_opts.c - see label_opts.h. Fields come from a form (strings) or JSON (numbers,
 * booleans, arrays); each is parsed once here, and args keeps the normalised JSON value. */
#include "analyses/label_opts.h"

#include "analyses/fields.h"

#include "core/util.h"
#include "pose/pose_cmap.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void label_opts_default(label_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->pcutoff = o->dotsize = o->alphavalue = NAN;
    o->end = 1;
}

/* ---- values ---- */

/* A number field in [lo, hi]: a JSON number or its text. 0 ok, -1 otherwise. */
static int get_num(const json_t *v, double lo, double hi, double *out)
{
    double d = NAN;

    if (analysis_value_num(v, &d) < 0)
        return -1;
    if (!(d >= lo && d <= hi))
        return -1;
    *out = d;
    return 0;
}

static int bad(vas_err *e, const char *field, const char *what)
{
    return err_set(e, VAS_EINVAL, "'%s' must be %s", field, what);
}

/* ---- displayedbodyparts ---- */

/* The names in v as a new JSON array of strings (NULL: "all"), in *out. */
static int parse_parts(const json_t *v, json_t **out, vas_err *e)
{
    const char *s = json_string_value(v);
    json_t *a = NULL;
    size_t i;

    *out = NULL;
    if (s && (!strcasecmp(s, "all") || !*s))
        return *s ? VAS_OK : bad(e, "displayedbodyparts", "\"all\" or a list of bodyparts");
    if (json_is_array(v)) {
        a = json_deep_copy(v);
    } else if (s && s[0] == '[') {
        a = json_loads(s, 0, NULL);
    } else if (s) {
        char buf[4096], *p = buf, *c;
        a = json_array();
        snprintf(buf, sizeof(buf), "%s", s);
        do {
            c = strchr(p, ',');
            if (c)
                *c = '\0';
            while (*p == ' ')
                p++;
            for (char *t = p + strlen(p); t > p && t[-1] == ' ';)
                *--t = '\0';
            json_array_append_new(a, json_string(p));
            p = c + 1;
        } while (c);
    }
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > 1000)
        goto fail;
    for (i = 0; i < json_array_size(a); i++) {
        const char *n = json_string_value(json_array_get(a, i));
        if (!n || !*n)
            goto fail;
    }
    *out = a;
    return VAS_OK;
fail:
    json_decref(a);
    return bad(e, "displayedbodyparts", "\"all\" or a list of bodyparts (\"snout,tailbase\")");
}

/* Marks the parts of m not in list as hidden; VAS_EINVAL for a name m does not have. */
static int hide_parts(const pose_model *m, const json_t *list, unsigned char *hide, vas_err *e)
{
    for (int p = 0; p < m->n_bodyparts; p++)
        hide[p] = list != NULL;
    for (size_t i = 0; list && i < json_array_size(list); i++) {
        const char *n = json_string_value(json_array_get(list, i));
        int p = 0;
        while (p < m->n_bodyparts && strcmp(m->bodyparts[p], n) != 0)
            p++;
        if (p == m->n_bodyparts) {
            char known[1024];
            size_t used = 0;
            known[0] = '\0';
            for (int k = 0; k < m->n_bodyparts && used < sizeof(known); k++) {
                int w = snprintf(known + used, sizeof(known) - used, "%s%s", k ? ", " : "",
                                 m->bodyparts[k]);
                used += w > 0 ? (size_t)w : 0;
            }
            return err_set(e, VAS_EINVAL,
                           "'displayedbodyparts': model '%s' has no bodypart '%s' (it has: %s)",
                           m->name, n, known);
        }
        hide[p] = 0;
    }
    return VAS_OK;
}

/* ---- check ---- */

static const char *const bools[] = {"draw_skeleton", "keypoints_only", "confidence_to_alpha"};

static const struct {
    const char *name;
    double lo, hi;
    int whole;
    const char *what;
} nums[] = {
    {"trailpoints", 0, LABEL_MAX_TRAIL, 1, "a whole number from 0 to 1000"},
    {"pcutoff", 0, 1, 0, "a number from 0 to 1"},
    {"dotsize", 0, LABEL_MAX_DOTSIZE, 0, "a number of pixels from 0 to 1000"},
    {"alphavalue", 0, 1, 0, "a number from 0 to 1"},
    {"start", 0, 1, 0, "a fraction of the video from 0 to 1"},
    {"end", 0, 1, 0, "a fraction of the video from 0 to 1"},
    {"outputframerate", 1e-3, 1000, 0, "a frame rate above 0 and at most 1000"},
};

static int check_words(const json_t *fields, json_t *args, vas_err *e)
{
    const json_t *v = json_object_get(fields, "colormap");
    const char *s;
    double rgb[3];
    vas_err ce = {0};

    if (v) {
        s = json_string_value(v);
        if (!s || strlen(s) >= sizeof(((label_opts *)0)->colormap) ||
            pose_cmap_lut(s, 0, rgb, &ce) < 0)
            return err_set(e, VAS_EINVAL, "'colormap': %s",
                           ce.msg[0] ? ce.msg : "must name a matplotlib colormap");
        json_object_set_new(args, "colormap", json_string(s));
    }
    v = json_object_get(fields, "color_by");
    if (v) {
        s = json_string_value(v);
        if (!s || (strcmp(s, "bodypart") != 0 && strcmp(s, "individual") != 0))
            return bad(e, "color_by", "\"bodypart\" or \"individual\"");
        json_object_set_new(args, "color_by", json_string(s));
    }
    return VAS_OK;
}

int label_opts_check(const pose_model *m, const json_t *fields, json_t *args, vas_err *e)
{
    const json_t *v;
    json_t *parts = NULL;
    double d, start = 0, end = 1;
    unsigned char hide[POSE_MODEL_MAX_PARTS];
    int rc;

    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        if (!(v = json_object_get(fields, bools[i])))
            continue;
        int b = analysis_value_bool(v);
        if (b < 0)
            return bad(e, bools[i], "0, 1, true or false");
        json_object_set_new(args, bools[i], json_boolean(b));
    }
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (!(v = json_object_get(fields, nums[i].name)))
            continue;
        if (get_num(v, nums[i].lo, nums[i].hi, &d) < 0 || (nums[i].whole && d != floor(d)))
            return bad(e, nums[i].name, nums[i].what);
        start = strcmp(nums[i].name, "start") == 0 ? d : start;
        end = strcmp(nums[i].name, "end") == 0 ? d : end;
        json_object_set_new(args, nums[i].name,
                            nums[i].whole ? json_integer((json_int_t)d) : json_real(d));
    }
    if (!(start < end))
        return err_set(e, VAS_EINVAL, "'start' (%g) must be below 'end' (%g)", start, end);
    rc = check_words(fields, args, e);
    if (rc == VAS_OK && (v = json_object_get(fields, "displayedbodyparts")))
        rc = parse_parts(v, &parts, e);
    if (rc == VAS_OK && parts && m)
        rc = hide_parts(m, parts, hide, e);
    if (rc == VAS_OK && parts)
        json_object_set(args, "displayedbodyparts", parts);
    json_decref(parts);
    return rc;
}

/* ---- the job ---- */

static double num_or(const json_t *args, const char *k, double def)
{
    const json_t *v = json_object_get(args, k);

    return json_is_number(v) ? json_number_value(v) : def;
}

int label_opts_from_args(const pose_model *m, const json_t *args, label_opts *o, vas_err *e)
{
    const char *s;

    label_opts_default(o);
    o->draw_skeleton = json_is_true(json_object_get(args, "draw_skeleton"));
    o->keypoints_only = json_is_true(json_object_get(args, "keypoints_only"));
    o->confidence_to_alpha = json_is_true(json_object_get(args, "confidence_to_alpha"));
    o->trailpoints = (int)num_or(args, "trailpoints", 0);
    o->pcutoff = num_or(args, "pcutoff", NAN);
    o->dotsize = num_or(args, "dotsize", NAN);
    o->alphavalue = num_or(args, "alphavalue", NAN);
    o->start = num_or(args, "start", 0);
    o->end = num_or(args, "end", 1);
    o->outputframerate = num_or(args, "outputframerate", 0);
    s = json_string_value(json_object_get(args, "colormap"));
    snprintf(o->colormap, sizeof(o->colormap), "%s", s ? s : "");
    s = json_string_value(json_object_get(args, "color_by"));
    o->one_colour = s && strcmp(s, "individual") == 0;
    return hide_parts(m, json_object_get(args, "displayedbodyparts"), o->hide, e);
}

int label_opts_style(const label_opts *o, pose_style *s, vas_err *e)
{
    int rc = VAS_OK;

    if (!isnan(o->pcutoff))
        s->pcutoff = o->pcutoff;
    if (!isnan(o->alphavalue))
        s->alpha = o->alphavalue;
    if (!isnan(o->dotsize)) {
        s->radius = o->dotsize;
        s->line_width = fmax(1.0, s->radius / 3);
    }
    if (o->colormap[0] || o->one_colour) {
        const char *cm = o->colormap[0] ? o->colormap : NULL;
        /* the model's colormap is in the style's colours already; recolour only when asked */
        if (cm)
            rc = pose_style_colors(s, cm, o->one_colour, e);
        else
            for (int p = 1; p < s->n_parts; p++)
                memcpy(s->rgb[p], s->rgb[0], sizeof(s->rgb[0]));
    }
    if (!o->draw_skeleton)
        s->n_skeleton = 0;
    memcpy(s->hide, o->hide, sizeof(s->hide));
    s->conf_alpha = o->confidence_to_alpha;
    return rc < 0 ? rc : pose_style_check(s, e);
}
